"""The Admin page, offered to admins when people sign in: people (add, role, password, disable),
their API keys (create, shown once; revoke) and the audit log.

Every action asks `permissions.require` first, for the person acting as checked in that very
callback (`ui.sign_in.acting`): the page is not offered to others, and a request crafted to reach
it anyway is refused here too. A new key is kept in the browser session only until the next run
shows it; afterwards only its id is listed.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from i18n import N_, _, format_datetime
from services.container import ServiceHub
from services.people import (
    ROLE_NAMES,
    Account,
    AccountError,
    AccountService,
    Person,
    Role,
)
from services.permissions import Action, require
from ui import errors, sign_in

ERROR = "admin_error"
DONE = "admin_done"
NEW_KEY = "admin_new_key"
ROLES = [role.value for role in Role]
KEY_STATES = {"active": N_("active"), "revoked": N_("revoked"), "expired": N_("expired")}
AUDIT_ROWS = 200


def page(hub: ServiceHub, person: Person) -> None:
    """The page for `person`, who must be allowed to manage people."""
    require(person, Action.MANAGE_PEOPLE)
    st.title(_("Admin"))
    errors.show_kept(ERROR)
    if done := st.session_state.pop(DONE, None):
        st.success(done)
    people, keys, audit = st.tabs([_("People"), _("API keys"), _("Audit log")])
    everyone = hub.accounts.accounts()
    names = [account.person.name for account in everyone]  # the admin at least
    with people:
        _people(hub, everyone, names)
    with keys:
        _keys(hub, names)
    with audit:
        _audit(hub.accounts, person)


def _people(hub: ServiceHub, everyone: list[Account], names: list[str]) -> None:
    st.dataframe(
        [
            {
                _("name"): account.person.name,
                _("role"): _role(account.person.role),
                _("status"): _("disabled") if account.disabled else _("active"),
                _("added"): format_datetime(account.created_at),
            }
            for account in everyone
        ],
        width="stretch",
        hide_index=True,
    )
    with st.form("admin-add", clear_on_submit=True):
        st.subheader(_("Add a person"))
        st.text_input(_("Name"), key="admin_add_name")
        st.selectbox(
            _("Role"),
            ROLES,
            index=ROLES.index(Role.READER),
            format_func=_role,
            key="admin_add_role",
        )
        st.text_input(_("Password"), type="password", key="admin_add_password")
        st.form_submit_button(_("Add"), on_click=_add, args=(hub,))
    st.subheader(_("Change a person"))
    st.selectbox(_("Person"), names, key="admin_person")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.selectbox(_("Role"), ROLES, format_func=_role, key="admin_role")
        st.button(_("Set role"), key="admin-set-role", on_click=_set_role, args=(hub,))
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.text_input(_("New password"), type="password", key="admin_password")
        st.button(_("Set password"), key="admin-set-password", on_click=_set_password, args=(hub,))
    with st.container(horizontal=True):
        for label, key, disabled in (
            (_("Disable"), "disable", True),
            (_("Enable"), "enable", False),
        ):
            st.button(label, key=f"admin-{key}", on_click=_set_disabled, args=(hub, disabled))


def _keys(hub: ServiceHub, names: list[str]) -> None:
    if new := st.session_state.pop(NEW_KEY, None):
        st.success(
            _("API key {key} for {name}: copy it now, it is shown this once.").format(
                key=new.key_id, name=new.owner
            ),
            icon="🔑",
        )
        st.code(new.key, language=None)
    infos = hub.accounts.keys()
    st.dataframe(
        [
            {
                _("key id"): info.key_id,
                _("owner"): info.owner,
                _("state"): _(KEY_STATES[info.state]),
                _("created"): format_datetime(info.created_at),
                _("expires"): format_datetime(info.expires_at) if info.expires_at else _("never"),
                _("last used"): format_datetime(info.last_used_at)
                if info.last_used_at
                else _("never"),
            }
            for info in infos
        ],
        width="stretch",
        hide_index=True,
    )
    with st.form("admin-key"):
        st.subheader(_("Create a key"))
        st.selectbox(_("For"), names, key="admin_key_owner")
        st.number_input(_("Valid for days (0: until revoked)"), 0, 3650, 0, key="admin_key_days")
        st.form_submit_button(_("Create key"), on_click=_create_key, args=(hub,))
    active = [info.key_id for info in infos if info.state == "active"]
    if active:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox(_("Key"), active, key="admin_revoke_key")
            st.button(_("Revoke"), key="admin-revoke", on_click=_revoke, args=(hub,))


def _audit(accounts: AccountService, person: Person) -> None:
    require(person, Action.READ_AUDIT)
    st.caption(_("The latest {count} entries, newest first.").format(count=AUDIT_ROWS))
    st.dataframe(
        [
            {
                _("time"): format_datetime(entry.at),
                _("who"): entry.actor,
                _("action"): entry.action,
                _("on"): entry.target,
                _("detail"): entry.detail,
            }
            for entry in accounts.audit_log(AUDIT_ROWS)
        ],
        width="stretch",
        hide_index=True,
    )


def _act(hub: ServiceHub, action: Callable[[AccountService, Person], str]) -> None:
    """Run a callback's action as the person acting now, if they may manage people; what it
    says (or the error) is shown by the next run."""

    def checked(actor: Person) -> None:
        require(actor, Action.MANAGE_PEOPLE)
        st.session_state[DONE] = action(hub.accounts, actor)

    sign_in.act(hub, ERROR, checked)


def _add(hub: ServiceHub) -> None:
    state = st.session_state
    name, role = state["admin_add_name"], state["admin_add_role"]
    password = state["admin_add_password"]

    def add(accounts: AccountService, actor: Person) -> str:
        added = accounts.add_person(actor, name, role, password)
        return _("Added {name} ({role}).").format(name=added.name, role=_role(added.role))

    _act(hub, add)


def _set_role(hub: ServiceHub) -> None:
    name, role = st.session_state["admin_person"], st.session_state["admin_role"]

    def set_role(accounts: AccountService, actor: Person) -> str:
        accounts.set_role(actor, name, role)
        return _("{name} is now {role}.").format(name=name, role=_role(role))

    _act(hub, set_role)


def _set_password(hub: ServiceHub) -> None:
    name, password = st.session_state["admin_person"], st.session_state["admin_password"]
    st.session_state["admin_password"] = ""

    def set_password(accounts: AccountService, actor: Person) -> str:
        accounts.set_password(actor, name, password)
        return _("Changed the password of {name}.").format(name=name)

    _act(hub, set_password)


def _set_disabled(hub: ServiceHub, disabled: bool) -> None:
    name = st.session_state["admin_person"]

    def set_disabled(accounts: AccountService, actor: Person) -> str:
        if disabled and name == actor.name:
            raise AccountError(N_("you cannot disable yourself: ask another admin"))
        accounts.set_disabled(actor, name, disabled)
        if disabled:
            return _("Disabled {name}: their sessions and keys stop working now.").format(name=name)
        return _("Enabled {name}.").format(name=name)

    _act(hub, set_disabled)


def _create_key(hub: ServiceHub) -> None:
    name, days = st.session_state["admin_key_owner"], st.session_state["admin_key_days"]

    def create(accounts: AccountService, actor: Person) -> str:
        new = accounts.create_key(actor, name, days or None)
        st.session_state[NEW_KEY] = new
        return _("Created API key {key} for {name}.").format(key=new.key_id, name=name)

    _act(hub, create)


def _revoke(hub: ServiceHub) -> None:
    key_id = st.session_state["admin_revoke_key"]

    def revoke(accounts: AccountService, actor: Person) -> str:
        accounts.revoke_key(actor, key_id)
        return _("Revoked API key {key}.").format(key=key_id)

    _act(hub, revoke)


def _role(role: str) -> str:
    """A role's name in the reader's language."""
    return _(ROLE_NAMES[role])
