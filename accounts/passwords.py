"""Password hashes: argon2id through argon2-cffi, never home-made.

argon2 is slow and memory-hard on purpose, so a stolen accounts file does not give passwords away
cheaply; each hash carries its own salt and parameters, so raising the parameters later only
needs `needs_rehash` at the next successful sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """The encoded argon2id hash of `password` (salt and parameters included)."""
    return _HASHER.hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether `password` matches the stored hash; a damaged hash simply does not match."""
    try:
        return _HASHER.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash after sign-in)."""
    return _HASHER.check_needs_rehash(encoded)
