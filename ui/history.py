"""The sidebar's conversations, kept in SQLite (`history.store`) so that they survive a restart:
listed most recent first with title, date, knowledge base and profile; open one to read and
continue it, rename it, export it as Markdown, or delete it after a confirmation.

Session state: `turns` (the chat page's turns), `conversation` and `conversation_kb` (the
stored conversation they belong to, None before the first question) and `kb` (the knowledge
base picker's key: set only in a callback, since Streamlit forbids changing a drawn widget's
key). A history file that cannot be used turns history off with a warning; chat still works.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from config import Settings
from history.markdown import conversation_markdown
from history.sources import with_notes
from history.store import (
    Conversation,
    HistoryError,
    HistoryStore,
    Turn,
    UnknownConversation,
    local_time,
)
from index.store import IndexStoreError, Manifest, current_version, read_manifest
from services.answering import ServiceHub
from ui.markdown import escape_markdown

CONVERSATION = "conversation"
CONVERSATION_KB = "conversation_kb"
CONFIRM_DELETE = "history_confirm_delete"
MESSAGE = "history_message"


@st.cache_resource(show_spinner=False)
def _store(path: str) -> HistoryStore:
    """One store per file and process: opening checks and upgrades the schema. A file that
    cannot be used raises, is not cached, and is tried again on the next run."""
    return HistoryStore(Path(path))


def store(settings: Settings) -> HistoryStore | HistoryError:
    try:
        return _store(str(settings.paths.history))
    except HistoryError as err:
        return err


def new_chat() -> None:
    """Callback of "New chat": the next question starts a new conversation."""
    st.session_state.update(
        {"turns": [], CONVERSATION: None, CONVERSATION_KB: None, CONFIRM_DELETE: None}
    )


def save_turn(settings: Settings, kb: str, profile: str, turns: list[Turn]) -> None:
    """Store the last of `turns`, the chat page's turn just answered: appended to the current
    conversation, or the first turn of a new one (also when the current one was deleted from
    another tab: then the whole chat is stored again, or when the knowledge base was switched
    since: then it starts anew). Warns instead of failing when it cannot."""
    history = store(settings)
    if isinstance(history, HistoryError):
        return  # the sidebar says that history is off
    state = st.session_state
    conversation = state.get(CONVERSATION)
    try:
        if conversation is not None and state.get(CONVERSATION_KB) == kb:
            try:
                history.append_turn(conversation, turns[-1])
                return
            except UnknownConversation:
                pass
        else:
            turns = turns[-1:]
        state[CONVERSATION] = history.create(turns[0]["question"], kb, profile, turns)
        state[CONVERSATION_KB] = kb
    except HistoryError as err:
        st.warning(f"This answer was not saved in the chat history: {err}")


def sidebar(hub: ServiceHub) -> None:
    """The conversations section of the sidebar. Drawn after the page, so that the turn just
    asked is already listed."""
    with st.sidebar:
        st.subheader("Conversations")
        history = store(hub.settings)
        if isinstance(history, HistoryError):
            _history_off(history)
            return
        message = st.session_state.pop(MESSAGE, None)
        if message:
            st.warning(message)
        try:
            conversations = history.list()
        except HistoryError as err:
            _history_off(err)
            return
        current = st.session_state.get(CONVERSATION)
        if not conversations:
            st.caption("Your conversations will be kept here.")
        for conversation in conversations:
            marker = "▸ " if conversation.id == current else ""
            st.button(
                marker + escape_markdown(conversation.title),  # labels render Markdown
                key=f"history-open-{conversation.id}",
                on_click=_open,
                args=(hub, history, conversation.id),
                width="stretch",
            )
            about = f"{local_time(conversation.updated_at)} · {conversation.kb} · "
            st.caption(escape_markdown(about + conversation.profile))
        chosen = next((c for c in conversations if c.id == current), None)
        if chosen is not None:
            _manage(history, chosen)


def _history_off(err: HistoryError) -> None:
    """Say why, and still let the chat on screen be downloaded."""
    st.warning(f"Chat history is off: {err}")
    turns = st.session_state.get("turns", [])
    st.download_button(
        "Download conversation",
        conversation_markdown(turns),
        file_name="ragchat-conversation.md",
        disabled=not turns,
    )


def _open(hub: ServiceHub, history: HistoryStore, conversation: int) -> None:
    """Callback: show a stored conversation, continue it on the next question, and switch to
    its knowledge base and chat model profile when they still exist. Its source cards say
    where their documents have changed or gone since."""
    state = st.session_state
    try:
        stored = history.get(conversation)
    except HistoryError as err:
        state[MESSAGE] = str(err)
        return
    kb_exists = hub.catalog.exists(stored.kb)
    if kb_exists:
        state["kb"] = stored.kb
    if stored.profile in hub.profiles:  # the sidebar's profile picker (key "profile")
        state["profile"] = stored.profile
    turns = stored.turns
    try:
        turns = with_notes(turns, _manifest(hub, stored.kb) if kb_exists else None)
    except IndexStoreError as err:
        state[MESSAGE] = f"The sources could not be checked against the knowledge base: {err}"
    state.update(
        {"turns": turns, CONVERSATION: stored.id, CONVERSATION_KB: stored.kb, CONFIRM_DELETE: None}
    )


def _manifest(hub: ServiceHub, kb: str) -> Manifest | None:
    """What the knowledge base's live index holds now (None without an index)."""
    version = current_version(hub.settings_for(kb).paths.index)
    return read_manifest(version) if version is not None else None


def _manage(history: HistoryStore, conversation: Conversation) -> None:
    """Rename, export and delete the open conversation."""
    st.caption("This conversation")
    try:
        title = st.text_input(
            "Title", value=conversation.title, key=f"history-title-{conversation.id}"
        )
        if st.button("Rename", key="history-rename") and title != conversation.title:
            history.rename(conversation.id, title)
            st.rerun()
        st.download_button(
            "Export as Markdown",
            history.export_markdown(conversation.id),
            file_name=f"ragchat-conversation-{conversation.id}.md",
            key="history-export",
        )
        if st.session_state.get(CONFIRM_DELETE) != conversation.id:
            if st.button("Delete", key="history-delete"):
                st.session_state[CONFIRM_DELETE] = conversation.id
                st.rerun()
            return
        title = escape_markdown(conversation.title)
        st.warning(f"Delete “{title}” and its answers? This cannot be undone.")
        if st.button("Yes, delete it", key="history-delete-confirm"):
            history.delete(conversation.id)
            new_chat()
            st.rerun()
        if st.button("Cancel", key="history-delete-cancel"):
            st.session_state[CONFIRM_DELETE] = None
            st.rerun()
    except (ValueError, HistoryError) as err:
        st.error(str(err))
