"""offhook's own request signature, for a PBX or script that can sign (Zammad's format has
none): `X-Offhook-Timestamp` (Unix seconds) and `X-Offhook-Signature`, the hex HMAC-SHA256 of
"<timestamp>." followed by the raw body, with the phone system's signing secret.

    stamp=$(date +%s)
    sig=$(printf '%s.%s' "$stamp" "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)

The timestamp makes an old request useless: one older than `WINDOW` seconds is refused, and a
newer one again is a replay, refused too.
"""

from __future__ import annotations

import hashlib
import hmac

TIME_HEADER = "x-offhook-timestamp"
SIGNATURE_HEADER = "x-offhook-signature"
#: How far a request's timestamp may be from offhook's clock, in seconds.
WINDOW = 300


def signature(secret: str, stamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def is_signed(secret: str, stamp: str, body: bytes, sent: str) -> bool:
    return hmac.compare_digest(signature(secret, stamp, body), sent.strip().lower())
