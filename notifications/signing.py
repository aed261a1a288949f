"""How a JSON webhook is signed, and how a receiver checks it (the README shows the same steps).

    X-FixIt-Timestamp: <unix seconds>
    X-FixIt-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the channel's secret>

The timestamp is inside the signed text, so a captured request cannot be
replayed later with a fresh timestamp; receivers refuse old ones.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-FixIt-Timestamp"
SIGNATURE_HEADER = "X-FixIt-Signature"
DELIVERY_HEADER = "X-FixIt-Delivery"
EVENT_HEADER = "X-FixIt-Event"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str, timestamp: str, received: str, body: bytes, now: float | None = None
) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= TOLERANCE_SECONDS and hmac.compare_digest(
        signature(secret, timestamp, body), received
    )
