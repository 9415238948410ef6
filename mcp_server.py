"""`python mcp_server.py`: ragchat as an MCP server over stdio, the command an MCP client
(Claude Desktop, Cursor, VS Code, any agent) starts to search and ask your knowledge bases.

    python mcp_server.py [--config FILE] [--kb NAME]

The tools and resources are `api.mcp`'s (docs/guides/mcp.md); `serve.py` serves the same ones
over HTTP at `/mcp`. Like the other command lines, it acts as the local operator: whoever can
start it on this machine can read the files anyway. With `[auth] enabled`, set RAGCHAT_API_KEY
to a person's API key (`python users.py key NAME`) to act as that person instead, with their
permissions; a key that does not work stops the server with a message. stdout carries the
protocol, so every message goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from api.mcp import mcp_server
from config import load_settings
from errors import RagchatError
from i18n import N_, _, explain, from_environment, use
from observability.tracing import configure_tracing
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB
from services.people import LOCAL_OPERATOR, InvalidApiKey, Person

KEY_VARIABLE = "RAGCHAT_API_KEY"


def main(argv: list[str] | None = None) -> int:
    use(from_environment(os.environ))  # stderr follows LANG; the tools answer agents in English
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
        configure_tracing(settings.tracing)
        hub = ServiceHub(settings)
        person = _person(hub, os.environ.get(KEY_VARIABLE, ""))
        hub.knowledge_bases.stats(args.kb, person=person)  # one they may read, or say so now
    except RagchatError as err:
        print(_("error: {message}").format(message=explain(err)), file=sys.stderr)
        return err.exit_code
    started = _("ragchat MCP server on stdio, acting as {name}").format(name=person.name)
    print(started, file=sys.stderr, flush=True)
    mcp_server(hub, lambda _ctx: person, default_kb=args.kb).run("stdio")
    return 0


def _person(hub: ServiceHub, key: str) -> Person:
    """Who the server acts as: the holder of `key` with auth on, else the local operator."""
    if not key:
        return LOCAL_OPERATOR
    if not hub.settings.auth.enabled:
        note = _(
            "note: {variable} is ignored: [auth] is off, so the server acts as the local operator"
        )
        print(note.format(variable=KEY_VARIABLE), file=sys.stderr)
        return LOCAL_OPERATOR
    person = hub.accounts.authenticate_key(key)
    if person is None:
        raise InvalidApiKey(
            N_(
                "{variable} holds an invalid, revoked or expired API key: set it to your key (an "
                "admin makes one with `python users.py key NAME`), or unset it to act as the "
                "local operator"
            ),
            variable=KEY_VARIABLE,
        )
    return person


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    parser.add_argument(
        "--kb",
        default=DEFAULT_KB,
        help=f"knowledge base a tool call uses when it names none (default: {DEFAULT_KB})",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
