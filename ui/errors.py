"""How the app shows an error of the `RagchatError` family, on every page: one box with the
message a person reads (what went wrong and what to do), red when the page cannot do what was
asked, yellow when the app goes on without something (history). A button's callback cannot draw,
so it keeps its error for the next run to show."""

from __future__ import annotations

import streamlit as st

from errors import RagchatError
from i18n import _, explain
from llms.queue import QueueFull


def show(err: RagchatError, lead: str = "", then: str = "", warn: bool = False) -> None:
    """The error's box: `lead` says what could not be done, `then` what the page offers instead
    (a paragraph of its own)."""
    text = " ".join(part for part in (lead, _message(err)) if part)
    (st.warning if warn else st.error)(f"{text}\n\n{then}" if then else text)


def keep(key: str, err: RagchatError, lead: str = "") -> None:
    """From a callback: `err` is shown where the next run calls `show_kept(key)`."""
    st.session_state[key] = (err, lead)


def show_kept(key: str, warn: bool = False) -> None:
    """The error a callback kept under `key`, shown once."""
    kept = st.session_state.pop(key, None)
    if kept is not None:
        err, lead = kept
        show(err, lead, warn=warn)


def _message(err: RagchatError) -> str:
    """What the person reads: the service's message in their language, put the app's way where
    it has one."""
    if isinstance(err, QueueFull):
        return _("The model is busy: try again in {seconds} s.").format(seconds=err.retry_after)
    return explain(err)
