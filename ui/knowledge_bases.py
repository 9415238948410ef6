"""Choosing and managing knowledge bases in the app: the sidebar's picker, and the list with
statistics, create, rename, delete (confirmed) and share at the end of the Knowledge base page.

The picker offers only the knowledge bases the person may read, and the page only the controls
they may use (`KnowledgeBaseService.allows`); the service checks every action again, so a
request crafted past the page is refused all the same. Callbacks act for the person as checked
in the callback itself (`ui.sign_in.acting`).

The picker is the widget with key `kb`: the knowledge base of the session. Renaming or
deleting the one in use switches the picker in the button's callback (Streamlit allows a
widget's value to be set only before the widget is drawn in a run).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from i18n import _, format_datetime, format_size
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB
from services.people import Person
from services.permissions import Action
from ui import errors, sharing, sign_in

KEY = "kb"
ERROR = "kb_error"
SUCCESS = "kb_success"


def picker(hub: ServiceHub, person: Person) -> str | None:
    """The sidebar's picker of the knowledge bases `person` may read; returns the session's
    knowledge base (None when there is none to read)."""
    names = hub.knowledge_bases.names(person=person)
    if not names:
        st.caption(_("No knowledge base is shared with you yet: ask its owner or an admin."))
        return None
    if st.session_state.get(KEY) not in names:  # first run, deleted or unshared meanwhile
        st.session_state[KEY] = DEFAULT_KB if DEFAULT_KB in names else names[0]
    return st.selectbox(_("Knowledge base"), names, key=KEY)


def manage(hub: ServiceHub, current: str | None, person: Person) -> None:
    """The knowledge bases `person` may read, with their statistics; create one, and share,
    rename or delete the current one (if any), as far as `person` may."""
    st.divider()
    st.subheader(_("All knowledge bases"))
    rows = [
        {
            _("knowledge base"): stats.name,
            _("files"): stats.files,
            _("chunks"): stats.chunks,
            _("size"): format_size(stats.size_bytes),
            _("last ingest"): format_datetime(stats.updated_at) if stats.updated_at else _("never"),
            _("embedder"): stats.embedder,
            _("status"): stats.problem or _("ok"),
            _("documents"): ", ".join(str(folder) for folder in stats.documents),
        }
        for stats in hub.knowledge_bases.overview(person=person)
    ]
    st.dataframe(rows, width="stretch", hide_index=True)
    errors.show_kept(ERROR)
    if success := st.session_state.pop(SUCCESS, None):
        st.success(success)
    if hub.knowledge_bases.allows(None, Action.CREATE_KB, person=person):
        st.text_input(
            _("New knowledge base"), placeholder=_("e.g. course-notes"), key="kb_new_name"
        )
        st.button(_("Create"), key="kb_create", on_click=_create, args=(hub,))
    if current is not None:
        _manage_current(hub, current, person)


def _manage_current(hub: ServiceHub, current: str, person: Person) -> None:
    """Share, rename and delete the current knowledge base: each control only for a person
    who may use it."""
    allows = hub.knowledge_bases.allows
    if hub.settings.auth.enabled and allows(current, Action.SHARE, person=person):
        sharing.panel(hub, current, person)  # without sign-in there is nobody to share with
    if not allows(current, Action.RENAME, person=person):
        return
    if current == DEFAULT_KB:
        st.caption(
            _("The default knowledge base (the config's [paths]) is not renamed or deleted.")
        )
        return
    new_name = st.text_input(_("Rename {name} to").format(name=repr(current)), key="kb_rename_to")
    st.button(
        _("Rename"),
        key="kb_rename",
        disabled=not new_name,
        on_click=_rename,
        args=(hub, current, new_name),
    )
    if allows(current, Action.DELETE, person=person):
        sure = st.checkbox(
            _("Yes, delete {name} with its index and its own documents folder").format(
                name=repr(current)
            ),
            key="kb_delete",
        )
        st.button(
            _("Delete"),
            key="kb_delete_button",
            disabled=not sure,
            on_click=_delete,
            args=(hub, current),
        )


def _create(hub: ServiceHub) -> None:
    """Callback: create the named knowledge base and switch to it."""
    name = st.session_state.get("kb_new_name", "")
    created = _("Created {name}: add files to it above.").format(name=repr(name))
    if _attempt(hub, lambda person: hub.knowledge_bases.create(name, person=person), created):
        st.session_state[KEY] = name
        st.session_state["kb_new_name"] = ""


def _rename(hub: ServiceHub, old: str, new: str) -> None:
    """Callback: rename, then keep the renamed knowledge base selected."""
    renamed = _("Renamed {old} to {new}.").format(old=repr(old), new=repr(new))
    if _attempt(hub, lambda person: hub.knowledge_bases.rename(old, new, person=person), renamed):
        st.session_state[KEY] = new


def _delete(hub: ServiceHub, name: str) -> None:
    """Callback: delete, and switch the session to the default knowledge base."""
    deleted = _("Deleted {name}.").format(name=repr(name))
    if _attempt(hub, lambda person: hub.knowledge_bases.delete(name, person=person), deleted):
        st.session_state[KEY] = DEFAULT_KB
        st.session_state["kb_delete"] = False


def _attempt(hub: ServiceHub, action: Callable[[Person], object], success: str) -> bool:
    """Run a callback's action as the person acting now; its outcome is shown on the next run
    (`manage`)."""
    done = sign_in.act(hub, ERROR, action)
    if done:
        st.session_state[SUCCESS] = success
    return done
