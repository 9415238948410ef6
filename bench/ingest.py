"""Ingest benchmark: LangChain's tutorial recipe against ragchat's ingest, same corpus, same model.

    python bench/ingest.py                      # seeds + a Python-docs subset, 3 repeats
    python bench/ingest.py --pydocs-files 0     # all of Debian's python3-doc HTML (slow)

Paths measured, each in its own process (so peak RSS is its own):
  a  tutorial:  RecursiveCharacterTextSplitter(1000, 200) -> embeddings -> FAISS.from_documents
                -> save_local
  b  ragchat:   `ingest` from scratch (load, NFKC, sliding windows, embed, atomic save)
  c  reingest:  `ingest` again with nothing changed
  d  one file:  `ingest` after one file changed
Both a and b read files with ragchat's loaders, so the difference is chunking, embedding and
storage. Results: a table on stdout and JSON in bench/results/ingest-<corpus>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evaluation.corpora import PYDOCS_HTML  # noqa: E402

SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
CORPORA = REPO / "bench" / "corpora"
RESULTS = REPO / "bench" / "results"
PATHS = ("tutorial", "ragchat", "reingest", "one-file")


def main() -> None:
    args = _parse_args()
    if args.worker:
        print(json.dumps(_work(args.worker, Path(args.corpus_dir), Path(args.index_dir))))
        return
    corpora = {"seeds": SEEDS, "pydocs": pydocs_corpus(args.pydocs_files)}
    for name in args.corpus:
        if not corpora[name].is_dir():
            print(f"skipping {name}: {corpora[name]} not found", file=sys.stderr)
            continue
        runs = [_one_round(corpora[name]) for _ in range(args.repeat)]
        summary = _summarize(name, runs)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"ingest-{name}.json").write_text(json.dumps(summary, indent=1))
        _print_table(summary)


def _one_round(corpus: Path) -> dict[str, dict]:
    """The four paths once, on fresh copies of the corpus and fresh index folders."""
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        docs = workdir / "docs"
        shutil.copytree(corpus, docs)
        results = {"tutorial": _measure("tutorial", docs, workdir / "tutorial-index")}
        for path in ("ragchat", "reingest"):
            results[path] = _measure(path, docs, workdir / "index")
        changed = sorted(p for p in docs.rglob("*") if p.is_file())[0]
        changed.write_text(changed.read_text(encoding="utf-8") + "\n\nOne more line.\n", "utf-8")
        results["one-file"] = _measure("one-file", docs, workdir / "index")
        results["one-file"]["changed_chars"] = len(changed.read_text(encoding="utf-8"))
        return results


def _measure(path: str, docs: Path, index: Path) -> dict:
    """Run one path in a child process; its own peak RSS comes from wait4."""
    command = [sys.executable, __file__, "--worker", path, "--corpus-dir", str(docs)]
    child = subprocess.Popen([*command, "--index-dir", str(index)], stdout=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    output = child.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{path} failed")
    return {**json.loads(output), "peak_rss_mib": usage.ru_maxrss / 1024}


def _work(path: str, docs: Path, index: Path) -> dict:
    """Inside the child: time one path, count the characters it embedded."""
    from config import ChunkingSettings, EmbeddingSettings, PathsSettings, Settings
    from index.embeddings import build_embedder
    from index.updater import ingest
    from index.versions import load_index

    embedder = build_embedder(EmbeddingSettings())
    if path == "tutorial":
        return _tutorial(docs, index, embedder.embeddings)
    settings = Settings(
        paths=PathsSettings(documents=docs, index=index), chunking=ChunkingSettings()
    )
    started = time.perf_counter()
    report = ingest(settings, embedder, show_progress=False, on_message=lambda _: None)
    seconds = time.perf_counter() - started
    embedded_chars = 0
    if report.embedded:
        knowledge_base = load_index(index, embedder)
        touched = {o.source for o in report.outcomes if o.status in ("added", "updated")}
        embedded_chars = sum(
            len(d.page_content)
            for d in knowledge_base.documents()
            if d.metadata["source"] in touched
        )
    return {
        "seconds": seconds,
        "chunks": report.embedded,
        "embedded_chars": embedded_chars,
        "document_chars": _document_chars(docs),
    }


def _tutorial(docs: Path, index: Path, embeddings) -> dict:
    """The LangChain RAG tutorial's indexing, with ragchat's loaders to read the files."""
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from index.updater import discover_files
    from loaders import LoaderError, load_document

    started = time.perf_counter()
    documents = []
    for file in discover_files([docs]):
        try:
            documents.append(load_document(file, file.name))
        except LoaderError:
            continue
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(documents)
    store = FAISS.from_documents(chunks, embeddings)
    store.save_local(str(index))
    return {
        "seconds": time.perf_counter() - started,
        "chunks": len(chunks),
        "embedded_chars": sum(len(c.page_content) for c in chunks),
        "document_chars": sum(len(d.page_content) for d in documents),
    }


def _document_chars(docs: Path) -> int:
    from index.updater import discover_files
    from loaders import LoaderError, load_document

    total = 0
    for file in discover_files([docs]):
        try:
            total += len(load_document(file, file.name).page_content)
        except LoaderError:
            continue
    return total


def pydocs_corpus(limit: int, library_only: bool = False) -> Path:
    """Debian's Python HTML docs converted to text once: the first `limit` library pages, or
    with 0 all library pages (`library_only`) or the whole documentation."""
    name = f"pydocs-{limit}" if limit else ("pydocs-library" if library_only else "pydocs-all")
    target = CORPORA / name
    if target.is_dir() or not PYDOCS_HTML.is_dir():
        return target
    from loaders import LoaderError, load_document

    pages = sorted(PYDOCS_HTML.glob("library/*.html"))
    if limit:
        pages = pages[:limit]
    elif not library_only:
        pages = sorted(PYDOCS_HTML.rglob("*.html"))
    staging = target.with_suffix(".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for page in pages:
        try:
            text = load_document(page, page.name).page_content
        except LoaderError:
            continue
        relative = page.relative_to(PYDOCS_HTML).with_suffix(".txt")
        (staging / relative.as_posix().replace("/", "__")).write_text(text, encoding="utf-8")
    staging.rename(target)
    return target


def _summarize(corpus: str, runs: list[dict[str, dict]]) -> dict:
    def median(path: str, key: str) -> float:
        return statistics.median(run[path][key] for run in runs)

    per_path = {
        path: {
            "seconds": median(path, "seconds"),
            "chunks": median(path, "chunks"),
            "embedded_chars": median(path, "embedded_chars"),
            "peak_rss_mib": median(path, "peak_rss_mib"),
            "chars_per_s": median(path, "document_chars") / median(path, "seconds"),
            "embedded_chars_per_s": median(path, "embedded_chars") / median(path, "seconds"),
            "chunks_per_s": median(path, "chunks") / median(path, "seconds"),
        }
        for path in PATHS
    }
    a, b, c, d = (per_path[path] for path in PATHS)
    return {
        "corpus": corpus,
        "repeats": len(runs),
        "document_chars": runs[0]["ragchat"]["document_chars"],
        "changed_file_chars": runs[0]["one-file"]["changed_chars"],
        "paths": per_path,
        "ratios": {
            "b_over_a_time_per_embedded_char": (b["seconds"] / b["embedded_chars"])
            / (a["seconds"] / a["embedded_chars"]),
            "b_over_a_time": b["seconds"] / a["seconds"],
            "c_over_b_time": c["seconds"] / b["seconds"],
            "d_over_b_time": d["seconds"] / b["seconds"],
        },
    }


_COLUMNS = (
    "seconds",
    "chunks",
    "chars_per_s",
    "embedded_chars_per_s",
    "chunks_per_s",
    "peak_rss_mib",
)


def _print_table(summary: dict) -> None:
    print(
        f"\n{summary['corpus']}: {summary['document_chars']:,} chars, "
        f"median of {summary['repeats']} runs"
    )
    header = ("path", "s", "chunks", "chars/s", "emb chars/s", "chunks/s", "RSS MiB")
    print(f"{header[0]:<10}" + "".join(f"{title:>12}" for title in header[1:]))
    for path, row in summary["paths"].items():
        values = [row[key] for key in _COLUMNS]
        print(f"{path:<10}" + "".join(f"{value:>12.2f}" for value in values))
    for name, value in summary["ratios"].items():
        print(f"  {name}: {value:.3f}")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", nargs="+", choices=["seeds", "pydocs"], default=["seeds", "pydocs"]
    )
    parser.add_argument("--pydocs-files", type=int, default=25, help="library pages; 0 = all docs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus-dir", help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
