"""Standard Webhooks signatures (spec 1.0.0, symmetric): what a brand's receiver verifies.

- A secret is `whsec_` and 32 random bytes in standard base64 (the spec asks for 24 to 64).
- The signed content is `{webhook-id}.{webhook-timestamp}.{body}` with the exact bytes sent;
  the signature is `v1,` and the base64 of its HMAC-SHA256 under the secret's bytes.
- During a rotation every secret still valid signs, and `webhook-signature` lists the
  signatures space-separated: a receiver that knows either secret accepts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import Final

PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, signed with each of `secrets_`."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets_),
    }
