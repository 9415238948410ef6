"""Who can reach a face over the network: one rule for the app and the API.

A face that cannot tell people apart must listen on this machine only; serving on any other
address needs a way to know who asks (API keys for `serve.py`). Streamlit's default address is
empty, which means every interface, so an empty address counts as exposed.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or `localhost`) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name, or empty (every interface)
        return False


def exposure_problem(host: str, protected: bool, what: str, fix: str) -> str | None:
    """Why `what` must not listen on `host`, or None when it may: it is on loopback, or
    `protected` (it knows who asks). `fix` says which setting to change."""
    if protected or is_loopback(host):
        return None
    where = host or "every interface"
    return (
        f"refusing to serve {what} on {where}: anyone who can reach it could read your "
        f"documents. {fix}"
    )
