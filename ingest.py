"""`python ingest.py [PATHS...]`: index documents (default: the configured documents folder).

Re-running it only touches what changed. Exit status: 0 when the index is consistent (files that
could not be read are listed with their reason; `--strict` makes them an error too), 1 for an
error that stopped the run, 130 when interrupted (the index on disk is then unchanged).

`--kb NAME` works on a named knowledge base (`python kb.py` creates and lists them).

`--check` opens the index as the app does and exits 0 when it is healthy (files changed since
indexing are noted), 2 when it is not, each problem naming the file and the command to run.
`--repair` checks the same way, and rebuilds a damaged (or missing) index from the documents,
beside the damaged version, which stays as it was until the new one is complete; it leaves
alone an index that is healthy, or built by another embedder (exit 2: `--rebuild` is for that).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from config import load_settings
from errors import RagchatError
from i18n import _, explain, format_count, format_number, from_environment, ngettext, use
from index.check import IndexHealth
from index.updater import IngestReport
from observability.tracing import configure_tracing
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB, OUTCOMES


def main(argv: list[str] | None = None) -> int:
    use(from_environment(os.environ))
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
        configure_tracing(settings.tracing)
        hub = ServiceHub(settings)
        index_folder = hub.knowledge_bases.settings_for(args.kb).paths.index
        if args.check or args.repair:
            health = hub.ingesting.check(args.kb)
            print(format_health(health, index_folder))
            if args.check or not health.repairable:
                return 0 if health.healthy else 2
            _to_stderr(_("repairing: rebuilding the index from the documents, beside the old one"))
            report = hub.ingesting.repair(
                args.kb,
                on_message=_to_stderr,
                show_progress=not args.quiet,
                lock_wait_seconds=args.wait,
            )
        else:
            report = hub.ingesting.ingest(
                args.paths or None,
                rebuild=args.rebuild,
                on_message=_to_stderr,
                kb=args.kb,
                dry_run=args.dry_run,
                show_progress=not args.quiet,
                lock_wait_seconds=args.wait,
            )
    except RagchatError as err:
        print(_("error: {message}").format(message=explain(err)), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(_("interrupted: the index on disk is unchanged"), file=sys.stderr)
        return 130
    print(format_report(report, index_folder))
    return 3 if args.strict and report.failures() else 0


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def format_report(report: IngestReport, index_folder: Path) -> str:
    """The summary a user reads after an ingest: one line per changed file, then the totals."""
    lines = []
    for outcome in report.outcomes:
        status = f"{_(OUTCOMES[outcome.status]):<10}"
        if outcome.status == "failed":
            reason = explain(outcome.problem) if outcome.problem else outcome.reason
            lines.append(f"  {status} {outcome.source}: {reason}")
        elif outcome.status != "unchanged":
            chunks = _chunks(outcome.chunks)
            lines.append(f"  {status} {outcome.source} ({chunks})")
    counts = ", ".join(
        f"{format_count(report.count(status))} {_(name)}"  # type: ignore[arg-type]
        for status, name in OUTCOMES.items()
    )
    if report.dry_run:
        lines.append(_("Files: {counts} (dry run: nothing would be written)").format(counts=counts))
    else:
        lines.append(_("Files: {counts}").format(counts=counts))
        lines.append(
            _(
                "Chunks: {embedded} embedded, {reused} reused; index holds {chunks} from {files}"
            ).format(
                embedded=format_count(report.embedded),
                reused=format_count(report.reused),
                chunks=_chunks(report.total_chunks),
                files=_files(report.total_files),
            )
        )
        saved = _("saved") if report.saved else _("unchanged")
        lines.append(_("Index: {folder} ({state})").format(folder=index_folder, state=saved))
    lines.append(_("Took {seconds} s").format(seconds=format_number(round(report.seconds, 1))))
    return "\n".join(lines)


def format_health(health: IndexHealth, index_folder: Path) -> str:
    """What `--check` found: the problems (each names a file and the command), then notes."""
    lines = [_("problem: {problem}").format(problem=problem) for problem in health.problems]
    lines += [_("note: {note}").format(note=note) for note in health.notes]
    if health.healthy:
        lines.append(
            _("Index: {version} ({files}, {chunks}): healthy").format(
                version=health.version, files=_files(health.files), chunks=_chunks(health.chunks)
            )
        )
    else:
        lines.append(_("Index: {folder}: not healthy").format(folder=index_folder))
    lines.append(
        _("Checked in {seconds} s").format(seconds=format_number(round(health.seconds, 2)))
    )
    return "\n".join(lines)


def _chunks(count: int) -> str:
    return ngettext("{count} chunk", "{count} chunks", count).format(count=format_count(count))


def _files(count: int) -> str:
    return ngettext("{count} file", "{count} files", count).format(count=format_count(count))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to index")
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    parser.add_argument(
        "--kb", default=DEFAULT_KB, help=f"knowledge base to index (default: {DEFAULT_KB})"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--rebuild", action="store_true", help="build the index from scratch")
    mode.add_argument("--dry-run", action="store_true", help="show what would change")
    mode.add_argument("--check", action="store_true", help="verify the index (exit 2: damaged)")
    mode.add_argument(
        "--repair", action="store_true", help="rebuild the index if it is damaged or missing"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--strict", action="store_true", help="exit 3 if any file failed")
    parser.add_argument(
        "--wait", type=float, default=600.0, help="seconds to wait for another ingest (600)"
    )
    args = parser.parse_args(argv)
    if args.paths and (args.check or args.repair):
        parser.error("--check and --repair take no paths: they work on the whole index")
    return args


if __name__ == "__main__":
    sys.exit(main())
