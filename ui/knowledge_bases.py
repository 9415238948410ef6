"""Choosing and managing knowledge bases in the app: the sidebar's picker, and the list with
statistics, create, rename and delete (confirmed) at the end of the Knowledge base page.

The picker is the widget with key `kb`: the knowledge base of the session. Renaming or
deleting the one in use switches the picker in the button's callback (Streamlit allows a
widget's value to be set only before the widget is drawn in a run).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from errors import RagchatError
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB
from ui import errors

KEY = "kb"
ERROR = "kb_error"
SUCCESS = "kb_success"


def picker(hub: ServiceHub) -> str:
    """The sidebar's knowledge-base picker; returns the session's knowledge base."""
    names = hub.knowledge_bases.names()
    if st.session_state.get(KEY) not in names:  # first run, or deleted in another tab
        st.session_state[KEY] = DEFAULT_KB
    return st.selectbox("Knowledge base", names, key=KEY)


def manage(hub: ServiceHub, current: str) -> None:
    """Every knowledge base with its statistics; create one, rename or delete the current one."""
    st.divider()
    st.subheader("All knowledge bases")
    rows = [
        {
            "knowledge base": stats.name,
            "files": stats.files,
            "chunks": stats.chunks,
            "size (MB)": round(stats.size_bytes / 1e6, 1),
            "last ingest": time.strftime("%Y-%m-%d %H:%M", time.localtime(stats.updated_at))
            if stats.updated_at
            else "never",
            "embedder": stats.embedder,
            "status": stats.problem or "ok",
            "documents": ", ".join(str(folder) for folder in stats.documents),
        }
        for stats in hub.knowledge_bases.overview()
    ]
    st.dataframe(rows, width="stretch", hide_index=True)
    errors.show_kept(ERROR)
    if success := st.session_state.pop(SUCCESS, None):
        st.success(success)
    st.text_input("New knowledge base", placeholder="e.g. course-notes", key="kb_new_name")
    st.button("Create", key="kb_create", on_click=_create, args=(hub,))
    if current == DEFAULT_KB:
        st.caption("The default knowledge base (the config's [paths]) is not renamed or deleted.")
        return
    new_name = st.text_input(f"Rename {current!r} to", key="kb_rename_to")
    st.button(
        "Rename",
        key="kb_rename",
        disabled=not new_name,
        on_click=_rename,
        args=(hub, current, new_name),
    )
    sure = st.checkbox(
        f"Yes, delete {current!r} with its index and its own documents folder", key="kb_delete"
    )
    st.button(
        "Delete", key="kb_delete_button", disabled=not sure, on_click=_delete, args=(hub, current)
    )


def _create(hub: ServiceHub) -> None:
    """Callback: create the named knowledge base and switch to it."""
    name = st.session_state.get("kb_new_name", "")
    created = f"Created {name!r}: add files to it above."
    if _attempt(lambda: hub.knowledge_bases.create(name), created):
        st.session_state[KEY] = name
        st.session_state["kb_new_name"] = ""


def _rename(hub: ServiceHub, old: str, new: str) -> None:
    """Callback: rename, then keep the renamed knowledge base selected."""
    if _attempt(lambda: hub.knowledge_bases.rename(old, new), f"Renamed {old!r} to {new!r}."):
        st.session_state[KEY] = new


def _delete(hub: ServiceHub, name: str) -> None:
    """Callback: delete, and switch the session to the default knowledge base."""
    if _attempt(lambda: hub.knowledge_bases.delete(name), f"Deleted {name!r}."):
        st.session_state[KEY] = DEFAULT_KB
        st.session_state["kb_delete"] = False


def _attempt(action: Callable[[], object], success: str) -> bool:
    """Run a callback's action; its outcome is shown on the next run (`manage`)."""
    try:
        action()
    except RagchatError as err:
        errors.keep(ERROR, err)
        return False
    st.session_state[SUCCESS] = success
    return True
