"""`users.py`: people added, listed and changed; an API key printed once and afterwards only its
id; revoking; the audit log; clear errors with exit status 1. Run through `users.main`, and once
as a real process with the password on standard input."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

import users
from accounts.store import AccountStore
from config import AuthSettings
from services.people import AccountService

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[paths]\nusers = "users.sqlite3"\n')
    return path


def run(
    config: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = users.main(["--config", str(config), *argv])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


@pytest.fixture
def with_ada(config: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The config, with an admin ada added."""
    add = ("add", "ada", "--role", "admin", "--password-stdin")
    assert run(config, capsys, monkeypatch, *add, stdin=PASSWORD)[0] == 0
    return config


def test_people_keys_and_the_audit_log(
    config: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        return run(config, capsys, monkeypatch, *argv, stdin=stdin)

    assert cli("add", "ada", "--role", "admin", "--password-stdin", stdin=f"{PASSWORD}\n")[:2] == (
        0,
        "added ada (admin)\n",
    )
    assert cli("add", "rita", "--role", "reader", "--password-stdin", stdin=PASSWORD)[0] == 0
    status, out, _ = cli("list")
    assert status == 0
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [
        ["ada", "admin", "active"],
        ["rita", "reader", "active"],
    ]

    status, out, err = cli("key", "rita", "--expires", "30")
    key = out.strip()
    assert status == 0 and key.startswith("rck_") and len(out.splitlines()) == 1
    key_id = key.split("_")[1]
    assert f"API key {key_id} for rita" in err and "shown this once" in err
    accounts = AccountService(AccountStore(config.parent / "users.sqlite3"), AuthSettings())
    assert accounts.authenticate_key(key).name == "rita"

    status, out, _ = cli("keys")
    assert status == 0 and key_id in out and key.split("_", 2)[2] not in out
    assert out.splitlines()[1].split()[:3] == [key_id, "rita", "active"]
    assert cli("keys", "ada")[1].splitlines()[1:] == []

    assert cli("role", "rita", "editor") == (0, "rita is now editor\n", "")
    assert cli("revoke", key_id)[:2] == (0, f"revoked API key {key_id}\n")
    assert accounts.authenticate_key(key) is None
    assert cli("keys", "rita")[1].splitlines()[1].split()[2] == "revoked"
    assert cli("disable", "rita")[0] == 0
    assert "rita                     editor  disabled" in cli("list")[1]

    status, out, _ = cli("audit", "--limit", "7")
    assert status == 0
    assert [line.split("  ")[1:4] for line in out.splitlines()] == [
        ["local operator", "person_add", "ada"],
        ["local operator", "kb_claim", "default"],  # the first admin takes what nobody owns
        ["local operator", "person_add", "rita"],
        ["local operator", "key_create", "rita"],
        ["local operator", "person_role", "rita"],
        ["local operator", "key_revoke", "rita"],
        ["local operator", "person_disable", "rita"],
    ]
    assert "(reader -> editor)" in out and f"(key {key_id})" in out
    assert "rck_" not in out and PASSWORD not in out


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "bob", "--role", "boss", "--password-stdin"], PASSWORD, "'boss' is not a role"),
        (["add", "bob", "--role", "reader", "--password-stdin"], "short", "at least 8"),
        (["role", "nobody", "admin"], "", "there is nobody named 'nobody'"),
        (["key", "nobody"], "", "there is nobody named 'nobody'"),
        (["key", "ada", "--expires", "-1"], "", "must expire in more than 0 days"),
        (["revoke", "0123"], "", "there is no API key '0123'"),
        (["add", "ada", "--role", "reader", "--password-stdin"], PASSWORD, "already a person"),
    ],
)
def test_refusals_are_one_clear_line_and_exit_1(
    with_ada: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    status, out, err = run(with_ada, capsys, monkeypatch, *argv, stdin=stdin)
    assert (status, out) == (1, "")
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_a_password_is_asked_twice_at_the_prompt(
    config: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([PASSWORD, PASSWORD, "a new password", "a typo password"])
    monkeypatch.setattr(users.getpass, "getpass", lambda prompt: next(answers))
    assert run(config, capsys, monkeypatch, "add", "ada", "--role", "admin")[0] == 0
    status, _, err = run(config, capsys, monkeypatch, "passwd", "ada")
    assert status == 1 and "the two passwords differ; nothing was changed" in err


@pytest.mark.heavy
def test_users_py_runs_as_a_program(config: Path) -> None:
    def users_py(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "users.py"), "--config", str(config), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    added = users_py("add", "ada", "--role", "admin", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert (added.returncode, added.stdout) == (0, "added ada (admin)\n")
    refused = users_py("role", "ada", "boss")
    assert refused.returncode == 1 and refused.stderr.startswith("error: 'boss' is not a role")
