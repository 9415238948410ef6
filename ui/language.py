"""The app's language: the one picked in the sidebar's switch this browser session, else the one
the person saved (when people sign in), else the browser's (`st.context.locale`), else English.

It is set at the start of every run (`apply`), before anything is drawn, so the whole page
speaks it; switching reruns the page and keeps everything else of the session (the chat on
screen included), and is saved for the person when people sign in."""

from __future__ import annotations

import streamlit as st

import i18n
from i18n import _
from services.container import ServiceHub
from services.people import Person
from ui import errors, sign_in

CHOSEN = "language"
"""The switch's choice for this browser session (a plain key: it outlives the widget)."""
SWITCH = "language_switch"
ERROR = "language_error"


def apply(hub: ServiceHub | None = None, person: Person | None = None) -> None:
    """Speak the session's language in this run; with `person` signed in, their saved one
    unless the switch chose another in this session."""
    saved = hub.accounts.language(person) if hub and person and hub.settings.auth.enabled else None
    i18n.use(st.session_state.get(CHOSEN) or saved or i18n.from_tag(st.context.locale))


def switch(hub: ServiceHub) -> None:
    """The sidebar's language switch (call it inside `st.sidebar`)."""
    errors.show_kept(ERROR)
    st.selectbox(
        _("Language"),
        i18n.LANGUAGES,
        index=i18n.LANGUAGES.index(i18n.current()),
        format_func=i18n.language_name,
        key=SWITCH,
        on_change=_switched,
        args=(hub,),
    )


def _switched(hub: ServiceHub) -> None:
    """Callback: remember the choice for the session, and for the person when people sign in."""
    chosen = st.session_state[SWITCH]
    st.session_state[CHOSEN] = chosen
    if hub.settings.auth.enabled:
        sign_in.act(hub, ERROR, lambda person: hub.accounts.set_language(person, chosen))
