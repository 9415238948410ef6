"""The app with sign-in on, through Streamlit's AppTest: the sign-in form, wrong passwords and
the lockout, the first admin, a session that survives a reload and ends at sign-out, a reader
who is shown no control that changes anything and is refused when a request reaches one anyway,
conversations private to their owner, sharing, and the Admin page. Real accounts file, real
index, real local model.

AppTest has no browser: the cookie jar and the peer address are stood in for (`browser`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.runtime.context import ContextProxy
from streamlit.testing.v1 import AppTest

import ui.cookies
from config import EmbeddingSettings
from history.store import UnknownConversation
from index.embeddings import build_embedder
from llms.queue import QueueFull
from services.answering import RagService
from services.container import ServiceHub
from services.permissions import Forbidden
from tests.support.knowledge import indexed
from tests.support.notes import write_optics
from tests.support.paths import SAMPLE_DIR
from tests.support.people import (
    MAX_FAILED,
    PEOPLE,
    QUESTIONS,
    accounts,
    add_people,
    new_session,
    password,
    people_config,
    sign_in,
    signed_in_as,
)
from tests.support.streamlit_app import ask, source_cards
from ui import admin

WRITE_LABELS = {"Save and index", "Remove", "Rebuild the index", "Create", "Rename", "Delete"}
"""Buttons that change a knowledge base: a reader sees none of them."""


class Browser:
    """What AppTest lacks: the browser's cookie jar (what `ui.cookies` writes and reads) and
    the peer address Streamlit reports (None: this machine)."""

    def __init__(self) -> None:
        self.cookie: str | None = None
        self.ip_address: str | None = None


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    jar = Browser()
    monkeypatch.setattr(ui.cookies, "read", lambda: jar.cookie)
    monkeypatch.setattr(ui.cookies, "write", lambda token, _max_age: setattr(jar, "cookie", token))
    monkeypatch.setattr(ui.cookies, "clear", lambda: setattr(jar, "cookie", None))
    monkeypatch.setattr(ContextProxy, "ip_address", property(lambda _: jar.ip_address))
    return jar


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample notes indexed once for the module (nobody here may change them)."""
    index = tmp_path_factory.mktemp("people-index") / "index"
    indexed(SAMPLE_DIR, index, build_embedder(EmbeddingSettings()))
    return index


@pytest.fixture
def config(tmp_path: Path, sample_index: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sign-in on over the sample index; the accounts and history files in `tmp_path`."""
    path = people_config(tmp_path, sample_index, SAMPLE_DIR)
    monkeypatch.setenv("RAGCHAT_CONFIG", str(path))
    return path


@pytest.fixture
def people(config: Path) -> Iterator[Path]:
    """Everyone in PEOPLE can sign in."""
    add_people(config)
    yield config


def write_controls(session: AppTest) -> set[str]:
    labels = {b.label for b in session.button} & WRITE_LABELS
    if session.get("file_uploader"):
        labels.add("file uploader")
    return labels


def conversation_titles(session: AppTest) -> list[str]:
    """The sidebar's conversations (without the marker of the open one)."""
    opens = [b for b in session.sidebar.button if (b.key or "").startswith("history-open-")]
    return [b.label.removeprefix("▸ ") for b in opens]


def test_auth_off_has_no_sign_in(app):
    """The default: nothing to sign in to, no Admin page, everything as before."""
    app.run()
    assert not app.exception
    assert not [t for t in app.text_input if t.key == "sign_in_name"]
    assert signed_in_as(app) is None
    assert app.sidebar.radio[0].options == ["Chat", "Knowledge base"]
    assert "There is no index yet" in app.info[0].value


def test_the_first_admin_is_created_on_this_machine_only(config, browser):
    browser.ip_address = "203.0.113.9"  # another machine
    session = new_session()
    assert "Nobody can sign in yet" in session.error[0].value
    assert not session.text_input  # no form to fill in
    browser.ip_address = None  # this machine
    session = new_session()
    assert "create the first admin" in session.info[0].value
    session.text_input(key="first_admin_name").input("ada")
    session.text_input(key="first_admin_password").input(password("ada"))
    session.text_input(key="first_admin_again").input(password("ada"))
    next(b for b in session.button if b.label == "Create and sign in").click().run()
    assert not session.exception, session.exception
    assert signed_in_as(session) == "ada"
    assert session.sidebar.radio[0].options == ["Chat", "Knowledge base", "Admin"]
    ada = accounts(config).person("ada")
    assert ada.role == "admin"
    assert accounts(config).access("default").owner == ada.id  # what existed is theirs
    assert browser.cookie  # the session is kept in the browser


def test_wrong_password_and_lockout(people, browser):
    session = new_session()
    assert session.button and "Sign in" in [b.label for b in session.button]
    sign_in(session, "rita", "not-her-password")
    assert session.error[0].value == "wrong name or password"
    sign_in(session, "nobody", "not-a-password")
    assert session.error[0].value == "wrong name or password"  # the same for a name nobody has
    assert signed_in_as(session) is None
    for _ in range(MAX_FAILED - 1):
        sign_in(session, "rita", "not-her-password")
    assert "too many failed sign-ins" in session.error[0].value
    sign_in(session, "rita")  # the right password, while locked
    assert "too many failed sign-ins" in session.error[0].value
    assert signed_in_as(session) is None and browser.cookie is None
    logged = [(e.action, e.target) for e in accounts(people).audit_log(20)]
    assert ("sign_in_failed", "rita") in logged and ("sign_in_locked", "rita") in logged
    assert ("sign_in_failed", "(unknown name)") in logged


def test_a_reload_keeps_the_session_and_sign_out_ends_it(people, browser):
    session = sign_in(new_session(), "rita")
    assert signed_in_as(session) == "rita"
    token = browser.cookie
    assert token
    reloaded = new_session()  # a reload: a new session, the cookie sent again
    assert signed_in_as(reloaded) == "rita"
    reloaded.button(key="sign-out").click().run()
    assert not reloaded.exception, reloaded.exception
    assert signed_in_as(reloaded) is None
    assert [t.key for t in reloaded.text_input] == ["sign_in_name", "sign_in_password"]
    assert browser.cookie is None
    assert accounts(people).session_person(token) is None  # ended on the server
    browser.cookie = token  # a copy of the cookie kept somewhere
    assert signed_in_as(new_session()) is None
    ended = session.run()  # the first tab, signed out from the other one
    assert signed_in_as(ended) is None
    assert "Your session has ended" in ended.info[0].value


def test_a_disabled_person_is_signed_out_at_once(people, browser):
    session = sign_in(new_session(), "ron")
    assert signed_in_as(session) == "ron"
    accounts(people).set_disabled(accounts(people).person("ada"), "ron")
    assert signed_in_as(session.run()) is None
    sign_in(session, "ron")
    assert "disabled" in session.error[0].value


def test_a_reader_sees_no_control_that_changes_anything_and_is_refused_anyway(
    people, browser, monkeypatch
):
    owner = accounts(people)
    eve, rita = owner.person("eve"), owner.person("rita")
    hub = ServiceHub(new_session().session_state["settings"])
    hub.knowledge_bases.create("optics", person=eve)
    write_optics(hub.knowledge_bases.settings_for("optics", person=eve).paths.documents)
    hub.ingesting.ingest(kb="optics", person=eve, on_message=lambda _: None)
    hub.knowledge_bases.share("optics", "rita", "write", person=eve)  # a reader stays a reader

    session = sign_in(new_session(), "rita")
    assert session.sidebar.radio[0].options == ["Chat", "Knowledge base"]  # no Admin page
    with pytest.raises(Forbidden):  # nor would it draw for her
        admin.page(hub, rita)
    assert session.sidebar.selectbox(key="kb").options == ["default", "optics"]
    session.sidebar.radio[0].set_value("Knowledge base").run()
    for kb in ("default", "optics"):
        session.sidebar.selectbox(key="kb").set_value(kb).run()
        assert not session.exception, session.exception
        assert session.metric[0].value == ("7" if kb == "default" else "2")  # what it holds
        assert write_controls(session) == set()
        assert not [s for s in session.subheader if s.value == "Sharing"]

    # The services refuse what the page does not offer, whoever asks for it.
    services = hub.ingesting, hub.knowledge_bases
    with pytest.raises(Forbidden):
        services[0].forget(["optics.md"], on_message=print, kb="optics", person=rita)
    with pytest.raises(Forbidden):
        services[0].save_upload("x.md", b"# x", kb="optics", person=rita)
    with pytest.raises(Forbidden):
        services[1].rename("optics", "mine", person=rita)
    with pytest.raises(Forbidden):
        services[1].delete("optics", person=rita)
    with pytest.raises(Forbidden):
        services[1].share("optics", "ron", "read", person=rita)
    with pytest.raises(Forbidden):
        services[1].create("hers", person=rita)

    # A crafted request: the page fooled into drawing every control; each is refused.
    monkeypatch.setattr(type(hub.knowledge_bases), "allows", lambda *_, **__: True)
    session.run()
    drawn = {"file uploader", "Rebuild the index", "Rename", "Delete", "Create"}
    assert drawn <= write_controls(session)
    session.main.multiselect[0].select("optics.md").run()
    next(b for b in session.button if b.label == "Remove").click().run()
    assert "may not change the documents of knowledge base 'optics'" in session.error[0].value
    session.text_input(key="kb_rename_to").input("mine").run()
    session.button(key="kb_rename").click().run()
    assert "may not rename" in session.error[0].value
    session.checkbox(key="kb_delete").check().run()
    session.button(key="kb_delete_button").click().run()
    assert "may not delete" in session.error[0].value
    session.text_input(key="kb_new_name").input("hers").run()
    session.button(key="kb_create").click().run()
    assert "may not create knowledge bases" in session.error[0].value
    assert hub.knowledge_bases.names(person=eve) == ["default", "optics"]
    assert len(hub.knowledge_bases.contents("optics", person=eve).files) == 2


def test_conversations_are_private_to_their_owner(people, browser):
    sessions = {name: sign_in(new_session(), name) for name in QUESTIONS}
    for name, question in QUESTIONS.items():
        ask(sessions[name], question)
        assert source_cards(sessions[name])
    for name, question in QUESTIONS.items():
        assert conversation_titles(sessions[name].run()) == [question]  # only their own
    admin = sign_in(new_session(), "ada")
    assert conversation_titles(admin) == []  # admins included

    owner = accounts(people)
    rita, ron = owner.person("rita"), owner.person("ron")
    hub = ServiceHub(admin.session_state["settings"])
    rons = sessions["ron"].session_state["conversation"]
    with pytest.raises(UnknownConversation):
        hub.conversations.open(rons, person=rita)
    with pytest.raises(UnknownConversation):
        hub.conversations.export(rons, person=rita)
    assert hub.conversations.delete(rons, person=rita) is False
    assert [c.id for c in hub.conversations.list(person=ron)] == [rons]


def test_an_owner_shares_and_unshares_a_knowledge_base(people, browser):
    eve = sign_in(new_session(), "eve")
    eve.sidebar.radio[0].set_value("Knowledge base").run()
    assert eve.sidebar.selectbox(key="kb").options == ["default"]  # shared with everyone
    assert not [s for s in eve.subheader if s.value == "Sharing"]  # the admin's, not hers
    eve.text_input(key="kb_new_name").input("eves").run()
    eve.button(key="kb_create").click().run()
    assert eve.sidebar.selectbox(key="kb").value == "eves"
    assert [s for s in eve.subheader if s.value == "Sharing"]
    rita = sign_in(new_session(), "rita")
    assert rita.sidebar.selectbox(key="kb").options == ["default"]  # private to eve

    eve.selectbox(key="share_with").set_value("rita")
    eve.selectbox(key="share_level").set_value("read")
    next(b for b in eve.button if b.label == "Share").click().run()
    assert not eve.exception, eve.exception
    assert "rita: read" in [m.value for m in eve.markdown]
    assert rita.run().sidebar.selectbox(key="kb").options == ["default", "eves"]
    eve.button(key="unshare-rita").click().run()
    assert rita.run().sidebar.selectbox(key="kb").options == ["default"]
    logged = [(e.action, e.target) for e in accounts(people).audit_log(20)]
    assert ("kb_share", "eves") in logged and ("kb_unshare", "eves") in logged


def test_the_admin_page(people, browser):
    session = sign_in(new_session(), "ada")
    session.sidebar.radio[0].set_value("Admin").run()
    assert not session.exception, session.exception
    assert list(session.dataframe[0].value["name"]) == list(PEOPLE)
    session.text_input(key="admin_add_name").input("zoe")
    session.selectbox(key="admin_add_role").set_value("editor")
    session.text_input(key="admin_add_password").input(password("zoe"))
    next(b for b in session.button if b.label == "Add").click().run()
    assert "Added zoe (editor)." in session.success[0].value
    session.selectbox(key="admin_person").set_value("zoe")
    session.selectbox(key="admin_role").set_value("reader")
    session.button(key="admin-set-role").click().run()
    assert accounts(people).person("zoe").role == "reader"

    session.selectbox(key="admin_key_owner").set_value("zoe")
    next(b for b in session.button if b.label == "Create key").click().run()
    key = session.code[0].value
    assert accounts(people).authenticate_key(key).name == "zoe"
    assert not session.run().code  # shown once
    session.button(key="admin-revoke").click().run()
    assert accounts(people).authenticate_key(key) is None

    session.selectbox(key="admin_person").set_value("ada")
    session.button(key="admin-disable").click().run()
    assert "cannot disable yourself" in session.error[0].value
    audit = session.dataframe[-1].value
    assert {"person_add", "person_role", "key_create", "key_revoke", "sign_in"} <= set(
        audit["action"]
    )


def test_a_full_line_says_when_to_try_again(people, browser, monkeypatch):
    """The service refuses a person with too many requests waiting (`QueueFull`): the chat
    says when to try again, and nothing is stored."""

    def full(*_args, **_kwargs):
        raise QueueFull(8, 12)

    monkeypatch.setattr(RagService, "stream", full)
    session = ask(sign_in(new_session(), "rita"), QUESTIONS["rita"])
    assert session.error[0].value == "The model is busy: try again in 12 s."
    assert session.session_state["turns"] == [] and conversation_titles(session) == []


def test_a_reader_of_a_knowledge_base_with_no_index_is_shown_no_server_folder(people, browser):
    owner = accounts(people)
    eve = owner.person("eve")
    hub = ServiceHub(new_session().session_state["settings"])
    hub.knowledge_bases.create("drafts", person=eve)
    documents = hub.knowledge_bases.settings_for("drafts", person=eve).paths.documents
    hub.knowledge_bases.share("drafts", "rita", "read", person=eve)

    session = sign_in(new_session(), "rita")
    session.sidebar.radio[0].set_value("Knowledge base").run()
    session.sidebar.selectbox(key="kb").set_value("drafts").run()
    shown = " ".join(info.value for info in session.info)
    assert "No index yet" in shown and str(documents) not in shown
    assert write_controls(session) == set()
    assert not [b for b in session.main.button if b.label.startswith("Index")]
