"""sipgate's push signature: RSA-SHA256 (PKCS #1 v1.5) over the raw body, in base64 in the
`X-Sipgate-Signature` header, made with sipgate's private key.

The public key is the one sipgate publishes (in its Node library, `sipgateio-node`,
lib/webhook/id_rsa.pub), shipped here as `push_key.pem`. An admin may paste another one should
sipgate change it; the tests put their own in its place.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

PUBLISHED_KEY = Path(__file__).with_name("push_key.pem")
HEADER = "x-sipgate-signature"
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.S)


class BadKey(ValueError):
    """The key given is no RSA public key."""


@functools.lru_cache(maxsize=8)
def public_key(pem: str = "") -> rsa.RSAPublicKey:
    """The key in `pem` (sipgate's published one when empty). Line breaks may be lost (a key
    pasted into a one-line field): only the base64 between the markers counts."""
    text = pem.strip() or PUBLISHED_KEY.read_text()
    match = _PEM.search(text)
    if match is None:
        raise BadKey("paste the key with its BEGIN PUBLIC KEY and END PUBLIC KEY lines")
    try:
        key = load_der_public_key(base64.b64decode("".join(match.group(1).split())))
    except (ValueError, binascii.Error) as exc:
        raise BadKey("the key cannot be read") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadKey("the key is no RSA key")
    return key


def is_signed(key: rsa.RSAPublicKey, body: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is sipgate's signature of `body`."""
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (ValueError, binascii.Error):
        return False
    if len(raw) != (key.key_size + 7) // 8:
        return False  # not even the right length: no RSA operation for it
    try:
        key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
