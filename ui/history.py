"""The sidebar's conversations, kept in SQLite (`history.store`) so that they survive a restart:
the person's own, listed most recent first with title, date, knowledge base and profile; open one
to read and continue it, rename it, export it as Markdown, or delete it after a confirmation.
Nobody else lists, opens, exports or deletes them: the conversation service checks the person.

Session state: `turns` (the chat page's turns), `conversation` and `conversation_kb` (the
stored conversation they belong to, None before the first question) and `kb` (the knowledge
base picker's key: set only in a callback, since Streamlit forbids changing a drawn widget's
key). A history file that cannot be used turns history off with a warning; chat still works.
"""

from __future__ import annotations

import streamlit as st

from errors import RagchatError
from history.markdown import conversation_markdown
from history.store import Conversation, HistoryError, Turn
from i18n import _, format_datetime
from services.container import ServiceHub
from services.people import Person
from ui import errors, sign_in
from ui.markdown import escape_markdown

CONVERSATION = "conversation"
CONVERSATION_KB = "conversation_kb"
CONFIRM_DELETE = "history_confirm_delete"
MESSAGE = "history_message"


def new_chat() -> None:
    """Callback of "New chat": the next question starts a new conversation."""
    st.session_state.update(
        {"turns": [], CONVERSATION: None, CONVERSATION_KB: None, CONFIRM_DELETE: None}
    )


def save_turn(hub: ServiceHub, kb: str, profile: str, turns: list[Turn], person: Person) -> None:
    """Store the last of `turns`, the chat page's turn just answered: appended to the current
    conversation, or the first turn of a new one (when the knowledge base was switched since,
    it starts anew; `ConversationService.save_turn` stores the whole chat again when the
    current one was deleted from another tab). Warns instead of failing when it cannot."""
    if hub.conversations.unavailable():
        return  # the sidebar says that history is off
    state = st.session_state
    continuing = state.get(CONVERSATION) is not None and state.get(CONVERSATION_KB) == kb
    try:
        state[CONVERSATION] = hub.conversations.save_turn(
            state[CONVERSATION] if continuing else None,
            turns if continuing else turns[-1:],
            kb,
            profile,
            person=person,
        )
        state[CONVERSATION_KB] = kb
    except HistoryError as err:
        errors.show(err, _("This answer was not saved in the chat history:"), warn=True)


def sidebar(hub: ServiceHub, person: Person) -> None:
    """`person`'s conversations in the sidebar. Drawn after the page, so that the turn just
    asked is already listed."""
    with st.sidebar:
        st.subheader(_("Conversations"))
        errors.show_kept(MESSAGE, warn=True)
        try:
            conversations = hub.conversations.list(person=person)
        except HistoryError as err:
            _history_off(err)
            return
        current = st.session_state.get(CONVERSATION)
        if not conversations:
            st.caption(_("Your conversations will be kept here."))
        for conversation in conversations:
            marker = "▸ " if conversation.id == current else ""
            st.button(
                marker + escape_markdown(conversation.title),  # labels render Markdown
                key=f"history-open-{conversation.id}",
                on_click=_open,
                args=(hub, conversation.id),
                width="stretch",
            )
            about = f"{format_datetime(conversation.updated_at)} · {conversation.kb} · "
            st.caption(escape_markdown(about + conversation.profile))
        chosen = next((c for c in conversations if c.id == current), None)
        if chosen is not None:
            _manage(hub, chosen, person)


def _history_off(err: HistoryError) -> None:
    """Say why, and still let the chat on screen be downloaded."""
    errors.show(err, _("Chat history is off:"), warn=True)
    turns = st.session_state.get("turns", [])
    st.download_button(
        _("Download conversation"),
        conversation_markdown(turns),
        file_name="ragchat-conversation.md",
        disabled=not turns,
    )


def _open(hub: ServiceHub, conversation: int) -> None:
    """Callback: show a stored conversation, continue it on the next question, and switch to
    its knowledge base and chat model profile when they still exist. Its source cards say
    where their documents have changed or gone since."""
    state = st.session_state
    try:
        opened = hub.conversations.open(conversation, person=sign_in.acting(hub))
    except RagchatError as err:
        errors.keep(MESSAGE, err)
        return
    stored = opened.conversation
    if opened.kb_exists:
        state["kb"] = stored.kb
    if stored.profile in hub.profiles:  # the sidebar's profile picker (key "profile")
        state["profile"] = stored.profile
    if opened.unchecked is not None:
        lead = _("The sources could not be checked against the knowledge base:")
        errors.keep(MESSAGE, opened.unchecked, lead)
    state.update(
        {
            "turns": stored.turns,
            CONVERSATION: stored.id,
            CONVERSATION_KB: stored.kb,
            CONFIRM_DELETE: None,
        }
    )


def _manage(hub: ServiceHub, conversation: Conversation, person: Person) -> None:
    """Rename, export and delete the open conversation."""
    conversations = hub.conversations
    st.caption(_("This conversation"))
    try:
        title = st.text_input(
            _("Title"), value=conversation.title, key=f"history-title-{conversation.id}"
        )
        if st.button(_("Rename"), key="history-rename") and title != conversation.title:
            conversations.rename(conversation.id, title, person=person)
            st.rerun()
        st.download_button(
            _("Export as Markdown"),
            conversations.export(conversation.id, person=person),
            file_name=f"ragchat-conversation-{conversation.id}.md",
            key="history-export",
        )
        if st.session_state.get(CONFIRM_DELETE) != conversation.id:
            if st.button(_("Delete"), key="history-delete"):
                st.session_state[CONFIRM_DELETE] = conversation.id
                st.rerun()
            return
        title = escape_markdown(conversation.title)
        st.warning(
            _("Delete “{title}” and its answers? This cannot be undone.").format(title=title)
        )
        if st.button(_("Yes, delete it"), key="history-delete-confirm"):
            conversations.delete(conversation.id, person=person)
            new_chat()
            st.rerun()
        if st.button(_("Cancel"), key="history-delete-cancel"):
            st.session_state[CONFIRM_DELETE] = None
            st.rerun()
    except RagchatError as err:
        errors.show(err)
