"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body bytes.

A receiver recomputes ``hex(HMAC_SHA256(secret, f"{timestamp}.".encode() + body))``, compares
it in constant time with the ``v1=`` value of ``X-Eldercare-Signature``, and refuses a
timestamp older than a few minutes, so a captured request cannot be replayed later. Signing
the raw bytes (not re-serialised JSON) means no two JSON libraries have to agree on spacing.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Eldercare-Timestamp"
SIGNATURE_HEADER = "X-Eldercare-Signature"
SCHEME = "v1"
TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value, ``v1=<hex digest>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(
    secret: str,
    timestamp: str,
    header: str,
    body: bytes,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """What a receiver does (and what the tests do): fresh timestamp, matching signature."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header)
