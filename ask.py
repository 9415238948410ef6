"""`python ask.py "question"`: answer from your documents in the terminal, with sources.

The answer streams as it is written, then the cited passages are listed (file, page, snippet).
`--chat` keeps a conversation going (follow-up questions use the history); `--json` prints one
JSON object for scripts. Exit status: 0 answered, 1 setup problem (config, index), 2 the model
could not answer (the message says why and what to do).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from langchain_core.documents import Document

from chains.assistant import Answerer, build_answerer, open_knowledge_base
from chains.citations import attribute_citations, cited_numbers, source_label
from chains.rag import history_messages
from config import ConfigError, load_settings
from index.embeddings import EmbeddingBackendError
from index.store import IndexStoreError
from llms.errors import LLMError, explain

SNIPPET_CHARS = 120


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
        if args.k:
            settings.retrieval.k = args.k
        knowledge_base = open_knowledge_base(settings)
    except (ConfigError, EmbeddingBackendError, IndexStoreError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        answerer = build_answerer(settings, knowledge_base, args.profile)
        if args.chat:
            return _chat(answerer)
        result = answer(answerer, args.question, [], stream=not args.json)
    except LLMError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


def answer(answerer: Answerer, question: str, turns: list[tuple[str, str]], stream: bool) -> dict:
    """Ask one question; print the answer as it streams (when `stream`), then its sources."""
    text, sources = "", []
    try:
        for chunk in answerer.chain.stream(
            {"question": question, "history": history_messages(turns)}
        ):
            sources = chunk.get("sources", sources)
            piece = chunk.get("answer", "")
            text += piece
            if stream:
                print(piece, end="", flush=True)
    except Exception as err:  # client libraries raise many kinds; explain() names them
        raise explain(err) from err
    annotated = attribute_citations(text, sources)
    result = {
        "question": question,
        "answer": annotated,
        "citations": cited_numbers(annotated, len(sources)),
        "sources": [_source_entry(n, d) for n, d in enumerate(sources, start=1)],
    }
    if stream:
        print()
        if annotated != text:
            print(f"\n(with citations) {annotated}")
        _print_sources(result)
    return result


def _source_entry(number: int, document: Document) -> dict:
    return {
        "n": number,
        "source": document.metadata["source"],
        "page": document.metadata.get("page"),
        "score": round(document.metadata.get("score", 0.0), 4),
        "label": source_label(document),
        "snippet": document.page_content[:SNIPPET_CHARS],
    }


def _print_sources(result: dict) -> None:
    print("\nSources:")
    for entry in result["sources"]:
        mark = "*" if entry["n"] in result["citations"] else " "
        snippet = entry["snippet"].replace("\n", " ")
        print(f" {mark}[{entry['n']}] {entry['label']}  (score {entry['score']:.3f})")
        print(f"      {snippet}…")


def _chat(answerer: Answerer) -> int:
    turns: list[tuple[str, str]] = []
    print("Ask a question (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        try:
            result = answer(answerer, question, turns, stream=True)
        except LLMError as err:
            print(f"error: {err}", file=sys.stderr)
            continue
        turns.append((question, result["answer"]))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("question", nargs="?", help="the question (omit with --chat)")
    parser.add_argument("--chat", action="store_true", help="interactive session with history")
    parser.add_argument("--profile", help="llm profile from the config (default: llm.profile)")
    parser.add_argument("--k", type=int, help="passages to retrieve")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    args = parser.parse_args(argv)
    if not args.chat and not args.question:
        parser.error("give a question, or --chat")
    return args


if __name__ == "__main__":
    sys.exit(main())
