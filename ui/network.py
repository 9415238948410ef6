"""Who may reach the app over the network: this machine only, unless people sign in.

Streamlit opens its port before it runs any of the app's code, so `.streamlit/config.toml`
binds 127.0.0.1, and a server started on another address (`--server.address`, a config of its
own) is stopped here, by the first session that reaches it, before anything is shown, unless the
settings turn sign-in on (`[auth] enabled`): then every page asks who you are first (`ui.sign_in`).
"""

from __future__ import annotations

import os
import sys

import streamlit as st

from services.exposure import exposure_problem

FIX = (
    "Set server.address to 127.0.0.1 (.streamlit/config.toml, or streamlit run app.py "
    "--server.address 127.0.0.1), or turn on sign-in: [auth] enabled = true, with an admin "
    "added by `python users.py add NAME --role admin`"
)


def refuse_if_exposed(signs_in: bool) -> None:
    """Stop the server, with one line on its stderr, when it listens beyond this machine and
    `signs_in` is False (the settings do not turn sign-in on, or cannot be read)."""
    if st.get_option("global.appTest"):  # AppTest runs the script without a server
        return
    problem = exposure_problem(st.get_option("server.address") or "", signs_in, "the app", FIX)
    if problem:
        print(f"error: {problem}", file=sys.stderr, flush=True)
        os._exit(1)  # from the script's thread: nothing has been served, nothing to save
