"""Who asks: every route but `/health` acts as the `Person` its request carries (`Caller`).

With `[auth] enabled`, a request sends `Authorization: Bearer KEY`, a key made by `python users.py
key NAME`, and acts as that key's holder; a missing, malformed, unknown, revoked or expired key,
or one whose holder is disabled, gets 401 `invalid_api_key`. Without auth the API acts as the
local operator, behind one of `api.keys` if there are any (else `serve.py` listens on loopback
only). A key is never logged or echoed: the 401 says only what to send.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from services.container import ServiceHub
from services.people import LOCAL_OPERATOR, InvalidApiKey, Person

Identify = Callable[[Request], Person]


def identifier(hub: ServiceHub) -> Identify:
    """How `hub`'s API tells who asks (see module). With auth on, the accounts file is opened
    now, so a server whose accounts cannot be read stops at start, not at the first request."""
    if hub.settings.auth.enabled:
        accounts = hub.accounts

        def by_key(request: Request) -> Person:
            person = accounts.authenticate_key(_bearer(request) or "")
            if person is None:
                raise InvalidApiKey(
                    "invalid, revoked or expired API key, or none: send `Authorization: Bearer "
                    "KEY` with your key (an admin makes one with `python users.py key NAME`)"
                )
            return person

        return by_key
    keys = [key.get_secret_value().encode() for key in hub.settings.api.keys]

    def local_operator(request: Request) -> Person:
        given = (_bearer(request) or "").encode()
        if keys and not any(secrets.compare_digest(given, key) for key in keys):
            raise InvalidApiKey(
                "invalid or missing API key: send `Authorization: Bearer KEY` with a key "
                "from api.keys"
            )
        return LOCAL_OPERATOR

    return local_operator


def person_of(request: Request) -> Person:
    """The FastAPI dependency: the person the request acts as (`create_app` installs how)."""
    identify: Identify = request.app.state.identify
    return identify(request)


Caller = Annotated[Person, Depends(person_of)]
"""A route's parameter `person: Caller` is who asks (resolved once per request)."""


def _bearer(request: Request) -> str | None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else None
