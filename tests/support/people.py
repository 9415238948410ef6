"""People for the app's sign-in tests: a config with `[auth]` on over a ready index, everyone in
PEOPLE with a password of their own, and a browser session of the app driven through AppTest
(sign in, who is signed in)."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

import ui.cookies
from accounts.store import AccountStore
from config import load_settings
from services.people import LOCAL_OPERATOR, AccountService
from tests.support.paths import MODEL, REPO

PEOPLE = {"ada": "admin", "eve": "editor", "rita": "reader", "ron": "reader"}
"""name -> role, in the order they are added (ada is the first admin)."""
QUESTIONS = {"rita": "什么是困惑度？", "ron": "What does DPO skip compared with RLHF?"}
"""One question over the sample notes per person who asks one."""
MAX_FAILED = 3
"""`auth.max_failed_sign_ins` in `people_config`."""
_SIGNED_IN = re.compile(r"Signed in as \*\*(.+?)\*\*")


def password(name: str) -> str:
    return f"{name}'s long password"


def people_config(folder: Path, index: Path, documents: Path) -> Path:
    """A config.toml with sign-in on over `index` (of `documents`), the bundled model greedy;
    the accounts, history and other knowledge bases in `folder`."""
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{documents}"\nindex = "{index}"\n'
        f'users = "{folder / "users.sqlite3"}"\nhistory = "{folder / "history.sqlite3"}"\n'
        f'knowledge_bases = "{folder / "knowledge_bases"}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{MODEL}"\n'
        f"temperature = 0.0\n[auth]\nenabled = true\nmax_failed_sign_ins = {MAX_FAILED}\n",
        encoding="utf-8",
    )
    return config


def accounts(config: Path) -> AccountService:
    """The accounts of `config`, as the app's service sees them."""
    settings = load_settings(config)
    return AccountService(AccountStore(settings.paths.users), settings.auth)


def add_people(config: Path) -> None:
    """Everyone in PEOPLE, with `password(name)`."""
    people = accounts(config)
    for name, role in PEOPLE.items():
        people.add_person(LOCAL_OPERATOR, name, role, password(name))


def new_session() -> AppTest:
    """A new browser session of the app (RAGCHAT_CONFIG names the config), run once."""
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()


def sign_in(session: AppTest, name: str, typed: str | None = None) -> AppTest:
    """Fill in the sign-in form (`typed`: the password, default `password(name)`) and send; the
    session signed in. A session the browser's cookie already signed in (as someone else) is
    left as it is: the person signs in from a browser of their own (a new session, no cookie)."""
    if signed_in_as(session) is not None:
        ui.cookies.clear()  # the test's stand-in cookie jar (the `browser` fixture)
        session = new_session()
    session.text_input(key="sign_in_name").input(name)
    session.text_input(key="sign_in_password").input(password(name) if typed is None else typed)
    next(b for b in session.button if b.label == "Sign in").click().run()
    return session


def signed_in_as(session: AppTest) -> str | None:
    """The name the sidebar says is signed in, or None."""
    for caption in session.sidebar.caption:
        found = _SIGNED_IN.search(caption.value)
        if found:
            return found.group(1)
    return None
