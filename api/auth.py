"""Bearer API keys from `api.keys`: a wrong or missing key gets 401, and the key itself is
never logged or echoed. With no keys configured every request passes (`serve.py` then listens
on loopback only)."""

from __future__ import annotations

import secrets

from fastapi import Request

from api.errors import ApiError


def key_checker(keys: list[str]):
    """A FastAPI dependency that admits requests carrying one of `keys`."""

    def check(request: Request) -> None:
        if not keys:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not any(
            secrets.compare_digest(given.encode(), key.encode()) for key in keys
        ):
            raise ApiError(
                401,
                "invalid_api_key",
                "invalid or missing API key: send `Authorization: Bearer KEY` with a key "
                "from api.keys",
            )

    return check
