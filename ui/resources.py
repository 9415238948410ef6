"""The one `ServiceHub` of this Streamlit process, shared by every browser session.

Streamlit runs each session's script in its own thread; the hub is what makes that safe: one
embedder used a thread at a time, one set of chat models per profile, and the local model's
single seat taken in turn (`llms.queue`). Sidebar choices are per-request `AnswerOptions`, so
moving a slider never builds anything.
"""

from __future__ import annotations

import streamlit as st

from config import Settings
from i18n import _
from services.container import ServiceHub


@st.cache_resource(show_spinner=False, max_entries=2)
def _hub(key: str, _settings: Settings) -> ServiceHub:
    return ServiceHub(_settings)


def hub(settings: Settings) -> ServiceHub:
    """The hub for these settings (every session reads the same config file: one hub; a
    changed config file gets a new one, and the oldest is let go with its models)."""
    with st.spinner(_("Starting ragchat…")):
        return _hub(settings.model_dump_json(), settings)
