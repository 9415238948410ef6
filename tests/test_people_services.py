"""The services with people: what each one lists and may reach, the 404 that hides a knowledge
base and the 403 that refuses a change, private conversations (admins included), a rename that
takes its owner, shares and conversations along, the audit log, the local operator with auth
off (no accounts file made), and an install from before people (its index and conversations
open unchanged and are the first admin's). Real files; no model is loaded."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from config import AuthSettings, PathsSettings, Settings
from history.store import SCHEMA_VERSION, Turn, UnknownConversation
from index.catalog import KnowledgeBaseNotFoundError
from services.container import ServiceHub
from services.people import LOCAL_OPERATOR, Person, ShareLevel
from services.permissions import Action, Forbidden
from tests.support.paths import DATA
from tests.support.people_api import accounts_at, add_members

TURN = Turn(question="q?", answer="a.", error="", cited=[], sources=[])


def settings_in(folder: Path, auth: bool = True) -> Settings:
    paths = PathsSettings(
        documents=folder / "docs",
        index=folder / "index",
        knowledge_bases=folder / "knowledge_bases",
        history=folder / "history.sqlite3",
        users=folder / "users.sqlite3",
    )
    return Settings(paths=paths, auth=AuthSettings(enabled=auth))


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Person]:
    members = add_members(
        tmp_path / "users.sqlite3", ada="admin", eve="editor", ed="editor", rita="reader"
    )
    return {name: member.person for name, member in members.items()}


@pytest.fixture
def hub(tmp_path: Path, people: dict[str, Person]) -> ServiceHub:
    """Auth on; eve owns the knowledge base `eves`; `default` is ada's, shared with all."""
    (tmp_path / "docs").mkdir()
    hub = ServiceHub(settings_in(tmp_path))
    hub.knowledge_bases.create("eves", person=people["eve"])
    return hub


def hidden(call) -> str:
    """The message of the 404 that `call` raises."""
    with pytest.raises(KnowledgeBaseNotFoundError) as caught:
        call()
    assert caught.value.http_status == 404
    return str(caught.value)


def test_each_person_lists_what_they_may_read(hub, people):
    kbs = hub.knowledge_bases
    assert kbs.names(person=people["eve"]) == ["default", "eves"]
    assert kbs.names(person=people["ada"]) == ["default", "eves"]
    assert kbs.names(person=LOCAL_OPERATOR) == ["default", "eves"]
    for name in ("ed", "rita"):
        assert kbs.names(person=people[name]) == ["default"]
        assert [s.name for s in kbs.overview(person=people[name])] == ["default"]
    kbs.share("eves", None, "read", person=people["eve"])
    assert kbs.names(person=people["rita"]) == ["default", "eves"]


def test_a_hidden_knowledge_base_is_404_word_for_word_as_one_nobody_has(hub, people):
    kbs, ingesting, ed = hub.knowledge_bases, hub.ingesting, people["ed"]
    for name in ("eves", "nobodys"):
        messages = {
            hidden(lambda n=name: kbs.stats(n, person=ed)),
            hidden(lambda n=name: kbs.contents(n, person=ed)),
            hidden(lambda n=name: kbs.settings_for(n, person=ed)),
            hidden(lambda n=name: kbs.document_path(n, "a.md", person=ed)),
            hidden(lambda n=name: kbs.rename(n, "mine", person=ed)),
            hidden(lambda n=name: kbs.delete(n, person=ed)),
            hidden(lambda n=name: kbs.share(n, "ed", "read", person=ed)),
            hidden(lambda n=name: ingesting.save_upload("a.md", b"# a", n, person=ed)),
            hidden(lambda n=name: ingesting.forget(["a.md"], print, n, person=ed)),
            hidden(lambda n=name: ingesting.check(n, person=ed)),
            hidden(lambda n=name: hub.service(with_model=False, kb=n, person=ed)),
        }
        assert messages == {f"no knowledge base named '{name}'"}
    assert not kbs.allows("eves", Action.READ, person=ed)


def test_what_may_be_read_but_not_changed_is_403(hub, people):
    kbs, ingesting = hub.knowledge_bases, hub.ingesting
    rita, ed, eve = people["rita"], people["ed"], people["eve"]
    refusals = [
        lambda: ingesting.save_upload("a.md", b"# a", "default", person=rita),
        lambda: ingesting.forget(["a.md"], print, "default", person=ed),
        lambda: kbs.rename("default", "mine", person=ed),
        lambda: kbs.delete("default", person=eve),
        lambda: kbs.share("default", "rita", "write", person=eve),
        lambda: kbs.create("hers", person=rita),
        lambda: kbs.create("elsewhere", [Path("/etc")], person=eve),  # no server folders
    ]
    for refusal in refusals:
        with pytest.raises(Forbidden) as caught:
            refusal()
        assert caught.value.http_status == 403
    assert kbs.document_path("default", "notes/a.md", person=rita).name == "a.md"
    assert kbs.allows("default", Action.READ, person=rita)
    assert not kbs.allows("default", Action.WRITE, person=rita)
    assert kbs.allows(None, Action.CREATE_KB, person=ed)
    assert not kbs.allows(None, Action.CREATE_KB, person=rita)


def test_a_writer_changes_renames_but_may_not_delete_or_share(hub, people, tmp_path):
    kbs, ingesting, eve, ed = hub.knowledge_bases, hub.ingesting, people["eve"], people["ed"]
    kbs.share("eves", "ed", "write", person=eve)
    target, new = ingesting.save_upload("a.md", b"# a\n", "eves", person=ed)
    assert new and target.parent.name == "uploads"
    with pytest.raises(Forbidden):
        kbs.delete("eves", person=ed)
    with pytest.raises(Forbidden):
        kbs.share("eves", "rita", "read", person=ed)
    kbs.rename("eves", "stars", person=ed)
    assert kbs.names(person=ed) == ["default", "stars"]
    access = kbs.access("stars", person=eve)
    assert (access.owner, dict(access.shares)) == (eve.id, {ed.id: ShareLevel.WRITE})


def test_a_rename_takes_owner_shares_and_conversations_and_a_delete_forgets_them(hub, people):
    kbs, conversations = hub.knowledge_bases, hub.conversations
    eve, ed, rita = people["eve"], people["ed"], people["rita"]
    kbs.share("eves", "rita", "read", person=eve)
    mine = conversations.save_turn(None, [TURN], "eves", "local", person=eve)
    theirs = conversations.save_turn(None, [TURN], "eves", "local", person=rita)
    kbs.rename("eves", "stars", person=eve)
    assert kbs.names(person=rita) == ["default", "stars"]
    assert conversations.open(mine, person=eve).conversation.kb == "stars"
    assert conversations.open(theirs, person=rita).kb_exists
    assert hidden(lambda: kbs.stats("eves", person=eve)) == "no knowledge base named 'eves'"

    kbs.delete("stars", person=eve)
    assert not conversations.open(theirs, person=rita).kb_exists
    kbs.create("stars", person=ed)  # the name again, someone else's: nothing passes to it
    assert kbs.names(person=rita) == ["default"]
    assert kbs.access("stars", person=ed).shares == {}

    logged = [(e.actor, e.action, e.target) for e in hub.accounts.audit_log(20)][::-1]
    assert logged[-5:] == [
        ("eve", "kb_create", "eves"),
        ("eve", "kb_share", "eves"),
        ("eve", "kb_rename", "eves"),
        ("eve", "kb_delete", "stars"),
        ("ed", "kb_create", "stars"),
    ]
    assert ("local operator", "kb_claim", "default") in logged  # before any of them


def test_conversations_are_their_owners_alone_admins_included(hub, people):
    conversations, eve, ada = hub.conversations, people["eve"], people["ada"]
    hers = conversations.save_turn(None, [TURN], "default", "local", person=eve)
    assert conversations.save_turn(hers, [TURN, TURN], "default", "local", person=eve) == hers
    for other in (ada, people["rita"], LOCAL_OPERATOR):
        assert hers not in [c.id for c in conversations.list(person=other)]
        for call in (conversations.open, conversations.export):
            with pytest.raises(UnknownConversation, match=f"there is no conversation {hers}"):
                call(hers, person=other)
        with pytest.raises(UnknownConversation):
            conversations.rename(hers, "mine now", person=other)
        assert conversations.delete(hers, person=other) is False
        # continuing someone else's conversation starts one of their own
        assert conversations.save_turn(hers, [TURN], "default", "local", person=other) != hers
    listed = conversations.list(person=eve)
    assert [c.id for c in listed] == [hers] and listed[0].owner == eve.id
    assert len(conversations.open(hers, person=eve).conversation.turns) == 2
    assert conversations.delete(hers, person=eve) is True


def test_the_local_operator_with_auth_off_makes_no_accounts_file(tmp_path):
    settings = settings_in(tmp_path, auth=False)
    (tmp_path / "docs").mkdir()
    hub = ServiceHub(settings)
    kbs, conversations = hub.knowledge_bases, hub.conversations
    kbs.create("notes")
    kbs.rename("notes", "journal")
    assert kbs.names() == ["default", "journal"]
    kept = conversations.save_turn(None, [TURN], "journal", "local")
    assert [c.id for c in conversations.list()] == [kept]
    kbs.delete("journal")
    assert not settings.paths.users.exists()


def test_with_accounts_the_local_operator_acts_for_the_first_admin(hub, people):
    kbs, conversations, ada = hub.knowledge_bases, hub.conversations, people["ada"]
    kbs.create("cli-made")  # as `kb.py create` does
    assert kbs.access("cli-made", person=ada).owner == ada.id
    from_cli = conversations.save_turn(None, [TURN], "default", "local")
    assert [c.id for c in conversations.list(person=ada)] == [from_cli]
    assert kbs.names(person=people["eve"]) == ["default", "eves"]  # not cli-made: ada's


def test_an_install_from_before_people_opens_unchanged_and_is_the_first_admins(tmp_path):
    """tests/data/previous_version: an index and a history file (schema 1, written by ragchat
    before people) open with auth on and the first admin added: the conversations as they
    were, ada's alone; `default` ada's, shared with everyone to read."""
    old = shutil.copytree(DATA / "previous_version", tmp_path / "old")
    with sqlite3.connect(old / "history.sqlite3") as before:
        assert before.execute("PRAGMA user_version").fetchone()[0] == 1
        rows_before = before.execute("SELECT * FROM conversations ORDER BY id").fetchall()
        turns_before = before.execute("SELECT * FROM turns ORDER BY 1, 2").fetchall()
    settings = settings_in(tmp_path)
    settings.paths.documents, settings.paths.index = old / "docs", old / "index"
    settings.paths.history = old / "history.sqlite3"
    members = add_members(settings.paths.users, ada="admin", eve="editor")
    ada, eve = members["ada"].person, members["eve"].person
    hub = ServiceHub(settings)

    listed = hub.conversations.list(person=ada)
    assert [(c.id, c.title, c.kb, c.owner) for c in listed] == [
        (2, "What does BPE merge?", "default", None),
        (1, "什么是注意力？", "default", None),
    ]
    opened = hub.conversations.open(1, person=ada)
    assert [t["question"] for t in opened.conversation.turns] == ["什么是注意力？", "多头呢？"]
    assert hub.conversations.list(person=eve) == []
    with pytest.raises(UnknownConversation):
        hub.conversations.open(1, person=eve)
    with sqlite3.connect(old / "history.sqlite3") as after:
        assert after.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert after.execute("SELECT * FROM conversations ORDER BY id").fetchall() == [
            (*row, None) for row in rows_before
        ]
        assert after.execute("SELECT * FROM turns ORDER BY 1, 2").fetchall() == turns_before

    access = hub.knowledge_bases.access("default", person=eve)
    assert (access.owner, access.everyone) == (ada.id, ShareLevel.READ)
    contents = hub.knowledge_bases.contents(person=eve)  # the index as it was
    assert sorted(contents.files) == ["tokenizers.txt", "注意力.md"]
    assert hub.knowledge_bases.allows("default", Action.READ, person=eve)
    assert accounts_at(settings.paths.users).audit_log(1)[0].action == "kb_claim"
