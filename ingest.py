"""`python ingest.py [PATHS...]`: index documents (default: the configured documents folder).

Re-running it only touches what changed. Exit status: 0 when the index is consistent (files that
could not be read are listed with their reason; `--strict` makes them an error too), 1 for an
error that stopped the run, 130 when interrupted (the index on disk is then unchanged).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from config import ConfigError, load_settings
from index.embeddings import EmbeddingBackendError, build_embedder
from index.store import IndexStoreError
from index.updater import IngestReport, ingest


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
        embedder = build_embedder(settings.embedding)
        report = ingest(
            settings,
            embedder,
            args.paths or None,
            rebuild=args.rebuild,
            dry_run=args.dry_run,
            show_progress=not args.quiet,
            lock_wait_seconds=args.wait,
            on_message=lambda message: print(message, file=sys.stderr),
        )
    except (ConfigError, EmbeddingBackendError, IndexStoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the index on disk is unchanged", file=sys.stderr)
        return 130
    print(format_report(report, settings.paths.index))
    return 3 if args.strict and report.failures() else 0


def format_report(report: IngestReport, index_folder: Path) -> str:
    """The summary a user reads after an ingest: one line per changed file, then the totals."""
    lines = []
    for outcome in report.outcomes:
        if outcome.status == "failed":
            lines.append(f"  failed     {outcome.source}: {outcome.reason}")
        elif outcome.status != "unchanged":
            lines.append(f"  {outcome.status:<10} {outcome.source} ({outcome.chunks} chunks)")
    verb = "would be" if report.dry_run else "were"
    counts = ", ".join(
        f"{report.count(status)} {status}"  # type: ignore[arg-type]
        for status in ("added", "updated", "removed", "unchanged", "failed")
    )
    lines.append(
        f"Files: {counts} (dry run: nothing {verb} written)"
        if report.dry_run
        else f"Files: {counts}"
    )
    if not report.dry_run:
        lines.append(
            f"Chunks: {report.embedded} embedded, {report.reused} reused; "
            f"index holds {report.total_chunks} chunks from {report.total_files} files"
        )
        lines.append(f"Index: {index_folder} ({'saved' if report.saved else 'unchanged'})")
    lines.append(f"Took {report.seconds:.1f} s")
    return "\n".join(lines)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders to index")
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    parser.add_argument("--rebuild", action="store_true", help="build the index from scratch")
    parser.add_argument("--dry-run", action="store_true", help="show what would change")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--strict", action="store_true", help="exit 3 if any file failed")
    parser.add_argument(
        "--wait", type=float, default=600.0, help="seconds to wait for another ingest (600)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
