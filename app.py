"""`streamlit run app.py`: the chat UI over your documents.

The settings are read once per session from `config.toml` (or the file named by the
RAGCHAT_CONFIG environment variable, or `streamlit run app.py -- --config FILE`); the sidebar's
choices change a copy for the next question, without a restart.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import get_args

import streamlit as st

from config import ConfigError, Settings, TranslateQuery, load_settings
from ui import chat, knowledge

TRANSLATE_CHOICES = list(get_args(TranslateQuery))


def read_settings() -> Settings:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=os.environ.get("RAGCHAT_CONFIG"))
    args, _ = parser.parse_known_args()
    return load_settings(args.config)


def sidebar(settings: Settings) -> tuple[Settings, str, str]:
    """Page choice, chat model profile and retrieval choices; returns the adjusted settings."""
    with st.sidebar:
        page = st.radio("Page", ["Chat", "Knowledge base"], horizontal=True)
        names = list(settings.llm.profiles)
        profile = st.selectbox("Chat model profile", names, index=names.index(settings.llm.profile))
        chosen = settings.llm.profiles[profile]
        if chosen.backend == "openai":
            has_key = bool(chosen.api_key) or bool(os.environ.get("OPENAI_API_KEY"))
            st.caption(
                f"{chosen.model} at {chosen.base_url or 'api.openai.com'} · "
                f"API key {'set' if has_key else 'missing: set OPENAI_API_KEY'}"
            )
        else:
            st.caption(f"{Path(chosen.model_path).name} (local)")
        if chosen.backend == "openai":
            chosen = chosen.model_copy(update={"model": st.text_input("Model name", chosen.model)})
        temperature = st.slider("Temperature", 0.0, 1.5, float(chosen.temperature), 0.1)
        mode = st.selectbox(
            "Retrieval",
            ["hybrid", "dense", "bm25"],
            index=["hybrid", "dense", "bm25"].index(settings.retrieval.mode),
        )
        k = st.slider("Passages (top-k)", 1, 10, settings.retrieval.k)
        translate = st.selectbox(
            "Translate the question (cross-lingual search)",
            TRANSLATE_CHOICES,
            index=TRANSLATE_CHOICES.index(settings.retrieval.translate_query),
            help="auto: only when your documents are not in the question's language",
        )
        if st.button("New chat"):
            st.session_state["turns"] = []
        turns = st.session_state.get("turns", [])
        st.download_button(
            "Download conversation",
            chat.conversation_markdown(turns),
            file_name="ragchat-conversation.md",
            disabled=not turns,
        )
    profiles = {
        **settings.llm.profiles,
        profile: chosen.model_copy(update={"temperature": temperature}),
    }
    adjusted = settings.model_copy(
        update={
            "llm": settings.llm.model_copy(update={"profiles": profiles}),
            "retrieval": settings.retrieval.model_copy(
                update={"mode": mode, "k": k, "translate_query": translate}
            ),
        }
    )
    return adjusted, profile, page


def main() -> None:
    st.set_page_config(page_title="ragchat", page_icon="📚", layout="wide")
    try:
        if "settings" not in st.session_state:  # read once per browser session
            st.session_state["settings"] = read_settings()
        settings = st.session_state["settings"]
    except ConfigError as err:
        st.error(f"The configuration cannot be used:\n\n{err}")
        return
    adjusted, profile, page = sidebar(settings)
    if page == "Chat":
        chat.page(adjusted, profile)
    else:
        knowledge.page(adjusted)


main()
