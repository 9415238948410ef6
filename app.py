"""`streamlit run app.py`: the chat UI over your documents.

The settings are read once per session from `config.toml` (or the file named by the
RAGCHAT_CONFIG environment variable, or `streamlit run app.py -- --config FILE`); the sidebar's
choices are options of the next question (`AnswerOptions`): nothing is rebuilt or restarted.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import get_args

import streamlit as st

from chains.retrieval import Mode
from config import ConfigError, Settings, TranslateQuery, load_settings
from errors import RagchatError
from services.answering import AnswerOptions
from services.container import ServiceHub
from ui import chat, errors, filters, history, knowledge, knowledge_bases, network, resources

TRANSLATE_CHOICES = list(get_args(TranslateQuery))
MODES = list(get_args(Mode))


def read_settings() -> Settings:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=os.environ.get("RAGCHAT_CONFIG"))
    args, _ = parser.parse_known_args()
    return load_settings(args.config)


def sidebar(hub: ServiceHub) -> tuple[str, str, str, AnswerOptions]:
    """Page, knowledge base, chat model profile and this session's retrieval and sampling
    choices."""
    settings = hub.settings
    with st.sidebar:
        page = st.radio("Page", ["Chat", "Knowledge base"], horizontal=True)
        kb = knowledge_bases.picker(hub)
        names = hub.profiles
        if st.session_state.get("profile") not in names:  # set by an opened conversation
            st.session_state["profile"] = settings.llm.profile
        profile = st.selectbox("Chat model profile", names, key="profile")
        st.caption(hub.describe(profile))
        default_temperature = float(settings.llm.profiles[profile].temperature)
        temperature = st.slider("Temperature", 0.0, 1.5, default_temperature, 0.1)
        mode = st.selectbox(
            "Retrieval", MODES, index=MODES.index(settings.retrieval.mode), key="mode"
        )
        k = st.slider("Passages (top-k)", 1, 10, settings.retrieval.k)
        translate = st.selectbox(
            "Translate the question (cross-lingual search)",
            TRANSLATE_CHOICES,
            index=TRANSLATE_CHOICES.index(settings.retrieval.translate_query),
            help="auto: only when your documents are not in the question's language",
        )
        chunk_filter = filters.sidebar_filter(hub, kb)
        st.button("New chat", on_click=history.new_chat)
    options = AnswerOptions(
        k=k, mode=mode, temperature=temperature, translate=translate, filter=chunk_filter
    )
    return page, kb, profile, options


def main() -> None:
    """The page; an error no page handles itself is shown in its box, not as a traceback."""
    network.refuse_if_exposed()
    st.set_page_config(page_title="ragchat", page_icon="📚", layout="wide")
    try:
        if "settings" not in st.session_state:  # read once per browser session
            st.session_state["settings"] = read_settings()
        hub = resources.hub(st.session_state["settings"])
        page, kb, profile, options = sidebar(hub)
        if page == "Chat":
            chat.page(hub, profile, options, kb)
        else:
            knowledge.page(hub, kb)
        history.sidebar(hub)
    except ConfigError as err:
        errors.show(err, "The configuration cannot be used:")
    except RagchatError as err:
        errors.show(err)


main()
