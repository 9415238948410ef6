"""`python kb.py share|unshare`: the local operator shares a knowledge base with a person or with
everyone signed in, through the same service as the app (recorded, audited), with one clear
line for what cannot be done. Run through `kb.main` over a real accounts file."""

from __future__ import annotations

from pathlib import Path

import pytest

import kb
from config import load_settings
from services.people import ShareLevel
from tests.support.people_api import accounts_at, add_members


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[paths]\ndocuments = "{tmp_path / "docs"}"\nindex = "{tmp_path / "index"}"\n'
        'users = "users.sqlite3"\nknowledge_bases = "kbs"\n',
        encoding="utf-8",
    )
    return path


def cli(config: Path, capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    status = kb.main(["--config", str(config), *argv])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def test_share_and_unshare_with_a_person_and_with_everyone(config, capsys):
    users = load_settings(config).paths.users
    people = add_members(users, ada="admin", rita="reader")
    assert cli(config, capsys, "create", "notes")[0] == 0
    accounts = accounts_at(users)
    assert accounts.access("notes").owner == people["ada"].person.id  # the first admin's

    assert cli(config, capsys, "share", "notes", "--with", "rita")[1] == (
        "shared knowledge base 'notes' with rita to read\n"
    )
    assert cli(config, capsys, "share", "notes", "--everyone", "--write")[1] == (
        "shared knowledge base 'notes' with everyone signed in to write\n"
    )
    access = accounts.access("notes")
    assert dict(access.shares) == {people["rita"].person.id: ShareLevel.READ}
    assert access.everyone == ShareLevel.WRITE
    assert cli(config, capsys, "unshare", "notes", "--with", "rita")[1] == (
        "knowledge base 'notes' is no longer shared with rita\n"
    )
    assert cli(config, capsys, "unshare", "notes", "--everyone")[0] == 0
    access = accounts.access("notes")
    assert (dict(access.shares), access.everyone) == ({}, None)
    logged = [(e.actor, e.action, e.target, e.detail) for e in accounts.audit_log(4)][::-1]
    assert logged == [
        ("local operator", "kb_share", "notes", "rita: read"),
        ("local operator", "kb_share", "notes", "everyone: write"),
        ("local operator", "kb_unshare", "notes", "rita"),
        ("local operator", "kb_unshare", "notes", "everyone"),
    ]


def test_what_cannot_be_shared_is_one_line_and_exit_1(config, capsys):
    (status, _, err) = cli(config, capsys, "share", "notes", "--with", "rita")
    assert status == 1 and err.startswith("error: no knowledge base named 'notes'")
    cli(config, capsys, "create", "notes")
    (status, _, err) = cli(config, capsys, "share", "notes", "--everyone")
    assert status == 1 and "has no owner yet: add an admin first" in err  # nobody is admin
    add_members(load_settings(config).paths.users, ada="admin")
    (status, _, err) = cli(config, capsys, "share", "notes", "--with", "nobody")
    assert (status, err) == (
        1,
        "error: there is nobody named 'nobody' (see `python users.py list`)\n",
    )
    with pytest.raises(SystemExit) as usage:
        cli(config, capsys, "share", "notes")
    assert usage.value.code == 2 and "one of the arguments --with --everyone" in (
        capsys.readouterr().err
    )
