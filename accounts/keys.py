"""API keys and session tokens: random secrets from `secrets`, kept only as digests.

An API key reads `rck_<key id>_<secret>`: the key id is public (listed, revoked by it) and finds
the row; the secret is 256 random bits, stored as its SHA-256. A secret that random needs no slow
hash (nobody can guess it to try against the digest), so checking a key costs microseconds per
request, not argon2's tens of milliseconds.

A session token reads `<session id>.<signature>`: it carries the session id only, signed with
HMAC-SHA256 under the server secret that the accounts file keeps, so a forged or mangled token is
turned away before the file is asked. The file keeps the id's digest, never the id itself, so
reading the file does not hand out live sessions; the row says whom it belongs to, when it expires
and whether it was ended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "rck"
SECRET_BYTES = 32
"""256 bits, for API key secrets, session ids and the server secret alike."""


@dataclass(frozen=True)
class IssuedKey:
    """A new API key: `raw` is shown to its owner once and never stored."""

    key_id: str
    secret_digest: str
    raw: str


def issue_api_key() -> IssuedKey:
    """A fresh key: its public id, the digest to store, and the key to hand over."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return IssuedKey(key_id, digest(secret), f"{KEY_PREFIX}_{key_id}_{secret}")


def split_api_key(raw: str) -> tuple[str, str] | None:
    """(key id, secret) of a key in the `rck_<id>_<secret>` shape, or None for anything else.
    The id is hex, so the first two underscores are the separators; the secret may hold more."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def digest(secret: str) -> str:
    """The SHA-256 of a high-entropy secret (an API key's or a session id), hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    """Whether `secret` has the stored digest, compared in constant time."""
    return hmac.compare_digest(digest(secret), stored_digest)


def new_server_secret() -> bytes:
    """The key that signs session tokens (made once per accounts file)."""
    return secrets.token_bytes(SECRET_BYTES)


def new_session_token(server_secret: bytes) -> tuple[str, str]:
    """A new session: (its id, to be stored as `digest(id)`; the signed token for the client)."""
    session_id = secrets.token_urlsafe(SECRET_BYTES)
    return session_id, f"{session_id}.{_signature(session_id, server_secret)}"


def session_id_of(token: str, server_secret: bytes) -> str | None:
    """The session id a token carries when its signature holds, else None."""
    session_id, dot, signature = token.strip().rpartition(".")
    if not dot or not session_id:
        return None
    expected = _signature(session_id, server_secret)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return session_id


def _signature(session_id: str, server_secret: bytes) -> str:
    mac = hmac.new(server_secret, session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
