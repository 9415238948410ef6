"""The sharing panel of a knowledge base, for its owner and admins: who it is shared with, share
it with a named person or everyone signed in (to read or to write), and stop sharing it.

A knowledge base is private to its owner until shared. The service checks SHARE again for the
person acting in the callback (`ui.sign_in.acting`), and audits every change.
"""

from __future__ import annotations

import streamlit as st

from i18n import N_, _
from services.container import ServiceHub
from services.knowledge_bases import SHARE_LEVELS
from services.people import Person, ShareLevel
from ui import errors, sign_in
from ui.markdown import escape_markdown

EVERYONE = N_("everyone signed in")
ERROR = "share_error"
LEVELS = [level.value for level in ShareLevel]


def panel(hub: ServiceHub, kb: str, person: Person) -> None:
    """The panel for knowledge base `kb` (`person` may share it)."""
    st.subheader(_("Sharing"))
    errors.show_kept(ERROR)
    access = hub.knowledge_bases.access(kb, person=person)
    names = {account.person.id: account.person.name for account in hub.accounts.accounts()}
    owner = names.get(access.owner, _("nobody")) if access.owner is not None else _("nobody")
    st.caption(
        _("Owner: {owner}. Private to its owner unless shared below.").format(
            owner=escape_markdown(owner)
        )
    )
    shares = [(names[id_], level) for id_, level in access.shares.items() if id_ in names]
    if access.everyone is not None:
        shares.insert(0, (None, access.everyone))
    for name, level in shares:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"{escape_markdown(name or _(EVERYONE))}: {_(SHARE_LEVELS[level])}")
            st.button(
                _("Stop sharing"),
                key=f"unshare-{name or ''}",
                on_click=_unshare,
                args=(hub, kb, name),
            )
    others = [n for id_, n in names.items() if id_ != access.owner]
    with (
        st.form(f"share-{kb}", border=False),
        st.container(horizontal=True, vertical_alignment="bottom"),
    ):
        st.selectbox(
            _("Share with"),
            [EVERYONE, *others],
            format_func=lambda name: _(EVERYONE) if name == EVERYONE else name,
            key="share_with",
        )
        st.selectbox(
            _("To"), LEVELS, format_func=lambda level: _(SHARE_LEVELS[level]), key="share_level"
        )
        st.form_submit_button(_("Share"), on_click=_share, args=(hub, kb))


def _share(hub: ServiceHub, kb: str) -> None:
    chosen, level = st.session_state["share_with"], st.session_state["share_level"]
    name = None if chosen == EVERYONE else chosen
    sign_in.act(
        hub, ERROR, lambda person: hub.knowledge_bases.share(kb, name, level, person=person)
    )


def _unshare(hub: ServiceHub, kb: str, name: str | None) -> None:
    sign_in.act(hub, ERROR, lambda person: hub.knowledge_bases.unshare(kb, name, person=person))
