"""Key pairs for signature tests: sipgate's private key is sipgate's, so the tests sign with
their own and give the driver its public half in place of sipgate's published one."""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@functools.cache
def _key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key(name: str = "test") -> rsa.RSAPrivateKey:
    """One key per name for the whole run."""
    return _key(name)


def public_pem(name: str = "test") -> str:
    return (
        private_key(name)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_signature(body: bytes, name: str = "test") -> str:
    raw = private_key(name).sign(body, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()
