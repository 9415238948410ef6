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
from i18n import N_, _, translator
from observability.tracing import configure_tracing
from services.answering import AnswerOptions
from services.container import ServiceHub
from services.people import Person
from services.permissions import Action, Decision, decide
from ui import (
    admin,
    chat,
    choices,
    errors,
    filters,
    history,
    knowledge,
    knowledge_bases,
    language,
    network,
    resources,
    sign_in,
)

TRANSLATE_CHOICES = list(get_args(TranslateQuery))
MODES = list(get_args(Mode))


def read_settings() -> Settings:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=os.environ.get("RAGCHAT_CONFIG"))
    args, _ = parser.parse_known_args()
    settings = load_settings(args.config)
    configure_tracing(settings.tracing)  # once per process; later calls change nothing
    return settings


def session_settings() -> Settings | ConfigError:
    """The settings, read once per browser session, or why they cannot be used."""
    if "settings" not in st.session_state:
        try:
            st.session_state["settings"] = read_settings()
        except ConfigError as err:
            return err
    return st.session_state["settings"]


def pages(hub: ServiceHub, person: Person) -> list[str]:
    """The pages `person` is offered: the Admin page to admins, when people sign in."""
    people = hub.settings.auth.enabled and decide(person, Action.MANAGE_PEOPLE) is Decision.ALLOW
    return [N_("Chat"), N_("Knowledge base"), *([N_("Admin")] if people else [])]


def sidebar(hub: ServiceHub, person: Person) -> tuple[str, str | None, str, AnswerOptions]:
    """Page, knowledge base (None: `person` may read none), chat model profile and this
    session's retrieval and sampling choices."""
    settings = hub.settings
    with st.sidebar:
        sign_in.sign_out_button(hub, person)
        page = st.radio(
            _("Page"), pages(hub, person), horizontal=True, format_func=translator(), key="page"
        )
        kb = knowledge_bases.picker(hub, person)
        names = hub.profiles
        if st.session_state.get("profile") not in names:  # set by an opened conversation
            st.session_state["profile"] = settings.llm.profile
        profile = st.selectbox(_("Chat model profile"), names, key="profile")
        st.caption(hub.describe(profile))
        default_temperature = float(settings.llm.profiles[profile].temperature)
        temperature = st.slider(
            _("Temperature"), 0.0, 1.5, default_temperature, 0.1, key="temperature"
        )
        mode = st.selectbox(
            _("Retrieval"),
            MODES,
            index=MODES.index(settings.retrieval.mode),
            format_func=choices.named(choices.MODE_NAMES),
            key="mode",
        )
        k = st.slider(_("Passages (top-k)"), 1, 10, settings.retrieval.k, key="top_k")
        translate = st.selectbox(
            _("Translate the question (cross-lingual search)"),
            TRANSLATE_CHOICES,
            index=TRANSLATE_CHOICES.index(settings.retrieval.translate_query),
            format_func=choices.named(choices.TRANSLATE_NAMES),
            help=_("auto: only when your documents are not in the question's language"),
            key="translate",
        )
        chunk_filter = filters.sidebar_filter(hub, kb, person)
        st.button(_("New chat"), on_click=history.new_chat)
        language.switch(hub)
    options = AnswerOptions(
        k=k, mode=mode, temperature=temperature, translate=translate, filter=chunk_filter
    )
    return page, kb, profile, options


def main() -> None:
    """The page for the person signed in (everyone is the local operator when people do not
    sign in); an error no page handles itself is shown in its box, not as a traceback."""
    settings = session_settings()
    language.apply()
    network.refuse_if_exposed(isinstance(settings, Settings) and settings.auth.enabled)
    st.set_page_config(page_title="ragchat", page_icon="📚", layout="wide")
    try:
        if isinstance(settings, ConfigError):
            raise settings
        hub = resources.hub(settings)
        person = sign_in.person(hub)
        language.apply(hub, person)
        page, kb, profile, options = sidebar(hub, person)
        if page == "Admin":
            admin.page(hub, person)
        elif page == "Chat":
            chat.page(hub, profile, options, kb, person)
        else:
            knowledge.page(hub, kb, person)
        history.sidebar(hub, person)
    except ConfigError as err:
        errors.show(err, _("The configuration cannot be used:"))
    except RagchatError as err:
        errors.show(err)


main()
