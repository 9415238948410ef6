"""The browser's copy of the session token, so that a sign-in survives a page reload.

Streamlit has no API to set a cookie: it only reads the ones the browser sent when the page
connected (`st.context.cookies`). So the cookie is written by one line of JavaScript run in the
page (`st.html(..., unsafe_allow_javascript=True)`: not an iframe, the app's own origin). What
that means: the cookie cannot be HttpOnly, so a script in the page could read it; `SameSite=Strict`
keeps other sites' requests from carrying it, and `Secure` is added when the page is served over
https. The token itself is only a signed session id (`services.people`): the session lives on the
server, expires after `auth.session_hours`, and ends at sign-out or when the person is disabled, so
a copied cookie stops working then, whatever the browser keeps.
"""

from __future__ import annotations

import re

import streamlit as st

NAME = "ragchat_session"
_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")
"""What a session token is made of (`accounts.keys`): nothing to escape in a cookie or a script."""


def read() -> str | None:
    """The session token the browser sent with this page, if any."""
    return st.context.cookies.get(NAME) or None


def write(token: str, max_age_s: int) -> None:
    """Keep `token` in the browser for `max_age_s` seconds (drawn once, in the run that signs
    in)."""
    if not _TOKEN.fullmatch(token):
        raise ValueError("a session token holds only letters, digits, '_', '.' and '-'")
    _set(f"{NAME}={token}; Max-Age={max_age_s}")


def clear() -> None:
    """Forget the token in the browser (drawn in the run that signs out)."""
    _set(f"{NAME}=; Max-Age=0")


def _set(cookie: str) -> None:
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    st.html(
        f"<script>document.cookie = '{cookie}; Path=/; SameSite=Strict' + {secure};</script>",
        unsafe_allow_javascript=True,
    )
