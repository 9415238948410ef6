"""`python users.py add|list|passwd|role|disable|enable|key|keys|revoke|audit`: manage accounts.

The people who may sign in, their API keys, and the audit log. Accounts are used once
`[auth] enabled = true` (or RAGCHAT_AUTH__ENABLED=true); they live in `paths.users`. Roles: admin
(everything), editor (creates knowledge bases, changes those they own or may write), reader (asks
those shared with them). This CLI acts as the local operator, an admin: whoever can run it
already owns the files. The first admin added takes the knowledge bases nobody owns yet, with
`default` shared with everyone (`python kb.py share` shares others). A password is asked twice
at a prompt, or read from one line of standard input with --password-stdin (scripts). A new API
key is printed once; afterwards only its id is shown. Exit status: 0 done, 1 refused (the
message says why).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from config import load_settings
from errors import RagchatError
from history.store import local_time
from i18n import N_, _, explain, from_environment, use
from services.container import ServiceHub
from services.people import LOCAL_OPERATOR, ROLE_NAMES, AccountError, AccountService

KEY_STATES = {"active": N_("active"), "revoked": N_("revoked"), "expired": N_("expired")}
"""An API key's state as people read it (ui/admin.py names them the same way)."""


def main(argv: list[str] | None = None) -> int:
    use(from_environment(os.environ))
    args = _parse_args(argv)
    try:
        hub = ServiceHub(load_settings(args.config))
        COMMANDS[args.command](hub.accounts, args)
        if args.command == "add":  # the first admin takes what nobody owns yet
            hub.accounts.claim_unowned(hub.knowledge_bases.names())
    except RagchatError as err:
        print(_("error: {message}").format(message=explain(err)), file=sys.stderr)
        return err.exit_code
    return 0


def add(accounts: AccountService, args: argparse.Namespace) -> None:
    password = _password(args)
    person = accounts.add_person(LOCAL_OPERATOR, args.name, args.role, password)
    print(_("added {name} ({role})").format(name=person.name, role=_(ROLE_NAMES[person.role])))


def list_people(accounts: AccountService, args: argparse.Namespace) -> None:
    print(f"{_('name'):<24} {_('role'):<7} {_('status'):<9} {_('created')}")
    for account in accounts.accounts():
        status = _("disabled") if account.disabled else _("active")
        person = account.person
        role = _(ROLE_NAMES[person.role])
        print(f"{person.name:<24} {role:<7} {status:<9} {local_time(account.created_at)}")


def passwd(accounts: AccountService, args: argparse.Namespace) -> None:
    accounts.person(args.name)  # an unknown name is refused before the prompt
    accounts.set_password(LOCAL_OPERATOR, args.name, _password(args))
    print(_("changed the password of {name}").format(name=args.name))


def role(accounts: AccountService, args: argparse.Namespace) -> None:
    accounts.set_role(LOCAL_OPERATOR, args.name, args.role)
    print(_("{name} is now {role}").format(name=args.name, role=_(ROLE_NAMES[args.role])))


def disable(accounts: AccountService, args: argparse.Namespace) -> None:
    accounts.set_disabled(LOCAL_OPERATOR, args.name, True)
    print(_("disabled {name}: their sessions and keys stop working now").format(name=args.name))


def enable(accounts: AccountService, args: argparse.Namespace) -> None:
    accounts.set_disabled(LOCAL_OPERATOR, args.name, False)
    print(_("enabled {name}").format(name=args.name))


def key(accounts: AccountService, args: argparse.Namespace) -> None:
    new = accounts.create_key(LOCAL_OPERATOR, args.name, args.expires)
    until = (
        _("never expires")
        if new.expires_at is None
        else _("expires {time}").format(time=local_time(new.expires_at))
    )
    print(
        _("API key {key_id} for {owner} ({until}); it is shown this once, keep it now:").format(
            key_id=new.key_id, owner=new.owner, until=until
        ),
        file=sys.stderr,
    )
    print(new.key)


def keys(accounts: AccountService, args: argparse.Namespace) -> None:
    header = (_("key id"), _("owner"), _("state"), _("created"), _("expires"), _("last used"))
    print(_key_row(*header))
    for info in accounts.keys(args.name):
        expires = local_time(info.expires_at) if info.expires_at else _("never")
        used = local_time(info.last_used_at) if info.last_used_at else _("never")
        state = _(KEY_STATES[info.state])
        print(_key_row(info.key_id, info.owner, state, local_time(info.created_at), expires, used))


def _key_row(key_id: str, owner: str, state: str, created: str, expires: str, used: str) -> str:
    """One line of the keys table, its columns aligned."""
    return f"{key_id:<18} {owner:<24} {state:<8} {created:<16}  {expires:<16}  {used}"


def revoke(accounts: AccountService, args: argparse.Namespace) -> None:
    accounts.revoke_key(LOCAL_OPERATOR, args.key_id)
    print(_("revoked API key {key_id}").format(key_id=args.key_id))


def audit(accounts: AccountService, args: argparse.Namespace) -> None:
    for entry in reversed(accounts.audit_log(args.limit)):
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.at))
        detail = f"  ({entry.detail})" if entry.detail else ""
        print(f"{at}  {entry.actor}  {entry.action}  {entry.target}{detail}")


COMMANDS: dict[str, Callable[[AccountService, argparse.Namespace], None]] = {
    "add": add,
    "list": list_people,
    "passwd": passwd,
    "role": role,
    "disable": disable,
    "enable": enable,
    "key": key,
    "keys": keys,
    "revoke": revoke,
    "audit": audit,
}


def _password(args: argparse.Namespace) -> str:
    """The new password: one line of standard input, or typed twice at a hidden prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(_("password for {name}: ").format(name=args.name))
    if getpass.getpass(_("again: ")) != password:
        raise AccountError(N_("the two passwords differ; nothing was changed"))
    return password


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    add_parser = commands.add_parser("add", help="a new person")
    add_parser.add_argument("name")
    add_parser.add_argument("--role", required=True, help="admin, editor or reader")
    passwd_parser = commands.add_parser("passwd", help="set a person's password")
    passwd_parser.add_argument("name")
    for with_password in (add_parser, passwd_parser):
        with_password.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
    commands.add_parser("list", help="everyone, with role and status")
    role_parser = commands.add_parser("role", help="change a person's role")
    role_parser.add_argument("name")
    role_parser.add_argument("role", help="admin, editor or reader")
    for name, text in (("disable", "stop a person signing in"), ("enable", "undo disable")):
        commands.add_parser(name, help=text).add_argument("name")
    key_parser = commands.add_parser("key", help="a new API key for a person (printed once)")
    key_parser.add_argument("name")
    key_parser.add_argument("--expires", type=float, metavar="DAYS", help="valid this many days")
    keys_parser = commands.add_parser("keys", help="the API keys (ids, never the keys)")
    keys_parser.add_argument("name", nargs="?", help="only this person's")
    commands.add_parser("revoke", help="stop an API key working").add_argument("key_id")
    audit_parser = commands.add_parser("audit", help="the latest audit log entries")
    audit_parser.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
