"""Who the app runs for: the local operator when `auth.enabled` is off, else the person signed in.

With auth on, every run starts here, before any page: the session token (kept in this browser
session's state, or sent by the browser as a cookie after a reload, `ui.cookies`) is checked with
`AccountService.session_person` on every run, so a session ended elsewhere, expired, or whose
person was disabled is signed out at once. Without a valid one the sign-in form is the whole page.
Failed sign-ins are slowed down, locked after `auth.max_failed_sign_ins` and audited by the
service; the form shows its message, the same for an unknown name as for a wrong password.

Before anyone is an admin, the page offers to create the first one, only to a browser on this
machine (the peer address, and no proxy's forwarding header): whoever reaches the app from
elsewhere could otherwise make themselves admin.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from errors import RagchatError
from i18n import N_, _
from services.container import ServiceHub
from services.people import (
    LOCAL_OPERATOR,
    ROLE_NAMES,
    AccountError,
    AccountService,
    Person,
    Role,
    SignInFailed,
)
from ui import cookies, errors
from ui.markdown import escape_markdown

TOKEN = "session_token"
COOKIE_CHANGE = "session_cookie_change"
"""The token to write to the browser, or "" to clear it, in the next run (callbacks cannot draw)."""
ERROR = "sign_in_error"
ENDED = "session_ended"
KEPT = ("settings",)
"""What a browser session keeps across a sign-out: nothing of the person's."""
_FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-Ip")


def person(hub: ServiceHub) -> Person:
    """Who this run is for; with auth on and nobody signed in, draws the sign-in page and stops
    the run."""
    if not hub.settings.auth.enabled:
        return LOCAL_OPERATOR
    kept = st.session_state.get(TOKEN)
    token = kept or cookies.read()
    found = hub.accounts.session_person(token) if token else None
    if found is None and kept:  # ended since the last run: elsewhere, expired, or disabled
        _forget()
        st.session_state[ENDED] = True
    _change_cookie(hub.settings.auth.session_hours)
    if found is None:
        _page(hub)
        st.stop()
    st.session_state[TOKEN] = token
    return found


def sign_out_button(hub: ServiceHub, signed_in: Person) -> None:
    """Who is signed in, and "Sign out" (call it inside `st.sidebar`; nothing with auth off)."""
    if not hub.settings.auth.enabled:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(
            _("Signed in as **{name}** ({role})").format(
                name=escape_markdown(signed_in.name), role=_(ROLE_NAMES[signed_in.role])
            )
        )
        st.button(_("Sign out"), key="sign-out", on_click=_sign_out, args=(hub.accounts,))


def _page(hub: ServiceHub) -> None:
    """The whole page for nobody signed in, in a column of its own (the app's layout is wide)."""
    with st.columns([1, 2, 1])[1]:
        st.title(hub.settings.ui.title)
        if any(account.person.role == Role.ADMIN for account in hub.accounts.accounts()):
            _sign_in_form(hub.accounts)
        else:
            _first_admin(hub)


def _sign_in_form(accounts: AccountService) -> None:
    if st.session_state.pop(ENDED, False):
        st.info(_("Your session has ended: sign in again."))
    errors.show_kept(ERROR)
    with st.form("sign-in"):
        st.subheader(_("Sign in"))
        st.text_input(_("Name"), key="sign_in_name", autocomplete="username")
        st.text_input(
            _("Password"), type="password", key="sign_in_password", autocomplete="current-password"
        )
        st.form_submit_button(_("Sign in"), type="primary", on_click=_sign_in, args=(accounts,))


def _first_admin(hub: ServiceHub) -> None:
    """The form that creates the first admin, on this machine only."""
    if not _on_this_machine():
        st.error(
            _(
                "Nobody can sign in yet. Create the first admin on the machine that runs "
                "ragchat: open the app there (http://localhost with its port), or run "
                "`python users.py add NAME --role admin`."
            )
        )
        return
    st.info(_("Nobody can sign in yet: create the first admin (offered on this machine only)."))
    errors.show_kept(ERROR)
    with st.form("first-admin"):
        st.subheader(_("Create the first admin"))
        st.text_input(_("Name"), key="first_admin_name", autocomplete="username")
        for label, key in (
            (_("Password"), "first_admin_password"),
            (_("Again"), "first_admin_again"),
        ):
            st.text_input(label, type="password", key=key, autocomplete="new-password")
        st.form_submit_button(
            _("Create and sign in"), type="primary", on_click=_create_admin, args=(hub,)
        )


def _on_this_machine() -> bool:
    """The browser reaches the app over loopback, not through a proxy (Streamlit gives no
    address for a loopback peer)."""
    headers = st.context.headers
    return st.context.ip_address is None and not any(h in headers for h in _FORWARDED)


def _sign_in(accounts: AccountService) -> None:
    """Callback of "Sign in"; the password field is emptied whatever the outcome."""
    state = st.session_state
    name, password = state["sign_in_name"], state["sign_in_password"]
    state["sign_in_password"] = ""
    _start(lambda: accounts.sign_in(name, password))


def _create_admin(hub: ServiceHub) -> None:
    """Callback of "Create and sign in": checked again here, as a request may be crafted. The
    knowledge bases made before anyone was an admin become theirs (`default` shared with
    everyone to read), as `python users.py add` would have them once the app starts."""
    accounts = hub.accounts
    state = st.session_state
    name, password = state["first_admin_name"], state["first_admin_password"]
    again = state["first_admin_again"]
    state["first_admin_password"] = state["first_admin_again"] = ""

    def create() -> str:
        if not _on_this_machine():
            raise AccountError(N_("the first admin can be created on this machine only"))
        if any(account.person.role == Role.ADMIN for account in accounts.accounts()):
            raise AccountError(N_("there is an admin already: sign in"))
        if password != again:
            raise AccountError(N_("the two passwords differ; nothing was changed"))
        accounts.add_person(LOCAL_OPERATOR, name, Role.ADMIN, password)
        accounts.claim_unowned(hub.knowledge_bases.names())
        return accounts.sign_in(name, password)

    _start(create)


def _start(sign_in: Callable[[], str]) -> None:
    """Run `sign_in`, which gives a session token; keep the token for this session and the
    browser, or the error for the form."""
    try:
        token = sign_in()
    except RagchatError as err:
        errors.keep(ERROR, err)
        return
    st.session_state[TOKEN] = token
    st.session_state[COOKIE_CHANGE] = token


def _sign_out(accounts: AccountService) -> None:
    """Callback of "Sign out": the session ends on the server, then in the browser."""
    token = st.session_state.get(TOKEN)
    if token:
        accounts.sign_out(token)
    _forget()


def _forget() -> None:
    """Drop everything of the person's from this browser session, and the browser's cookie."""
    for key in [key for key in st.session_state if key not in KEPT]:
        del st.session_state[key]
    st.session_state[COOKIE_CHANGE] = ""


def _change_cookie(session_hours: float) -> None:
    """Write or clear the browser's cookie, as the last sign-in or sign-out asked."""
    change = st.session_state.pop(COOKIE_CHANGE, None)
    if change:
        cookies.write(change, int(session_hours * 3600))
    elif change == "":
        cookies.clear()


def acting(hub: ServiceHub) -> Person:
    """The person a button's callback acts for, checked again: callbacks run before the run's
    own check (`person`), so one clicked after the session ended must not act on it."""
    if not hub.settings.auth.enabled:
        return LOCAL_OPERATOR
    token = st.session_state.get(TOKEN)
    found = hub.accounts.session_person(token) if token else None
    if found is None:
        raise SignInFailed(N_("your session has ended: sign in again"))
    return found


def act(hub: ServiceHub, error_key: str, action: Callable[[Person], object]) -> bool:
    """Run a button callback's `action` as the person acting now (`acting`); an error is kept
    for the next run to show under `error_key`. Whether it was done."""
    try:
        action(acting(hub))
    except RagchatError as err:
        errors.keep(error_key, err)
        return False
    return True
