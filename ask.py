"""`python ask.py "question"`: answer from your documents in the terminal, with sources.

The answer streams as it is written, then the cited passages are listed (file, page, snippet).
`--chat` keeps a conversation going (follow-up questions use the history); `--json` prints one
JSON object for scripts; `--filter KEY=VALUE` searches only matching chunks (`index.filters`).
Exit status: 0 answered, 1 setup problem (config, index), 2 a bad argument (a filter that cannot
be read, an unknown profile) or the model could not answer (the message says why and what to do).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from config import load_settings
from errors import RagchatError
from i18n import _, explain, format_count, format_number, from_environment, ngettext, use
from index.filters import FILTER_HELP, parse_filters
from observability.tracing import configure_tracing
from services.answering import Answer, AnswerOptions, RagService, Waiting
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB
from ui.choices import kind_label

SNIPPET_CHARS = 120


def main(argv: list[str] | None = None) -> int:
    use(from_environment(os.environ))
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
        configure_tracing(settings.tracing)
        service = ServiceHub(settings).service(args.profile, kb=args.kb)
    except RagchatError as err:
        print(_("error: {message}").format(message=explain(err)), file=sys.stderr)
        return err.exit_code
    options = AnswerOptions(k=args.k, filter=args.filter)
    if args.chat:
        return _chat(service, options)
    answer = ask(service, args.question, [], options, stream=not args.json)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    if answer.error:
        _print_error(answer)
        return 2
    return 0


def ask(
    service: RagService,
    question: str,
    turns: list[tuple[str, str]],
    options: AnswerOptions,
    stream: bool,
) -> Answer:
    """Ask one question; print the answer as it streams (when `stream`), then its sources."""
    streamed = ""
    for event in service.stream(question, turns, options):
        if isinstance(event, Answer):
            answer = event
        elif isinstance(event, Waiting):
            if stream:
                print(_waiting(event.ahead), file=sys.stderr)
        else:
            streamed += event
            if stream:
                print(event, end="", flush=True)
    if stream:
        print()
        if answer.text != streamed:
            print("\n" + _("(with citations) {text}").format(text=answer.text))
        label = kind_label(answer.kind, answer.left_out)
        if label is not None:
            print(f"({label})")
        _print_sources(answer)
    return answer


def _waiting(ahead: int) -> str:
    """The note while the local model serves others: "(waiting for the model, 2 ahead)"."""
    note = ngettext(
        "waiting for the model, {count} ahead", "waiting for the model, {count} ahead", ahead
    )
    return f"({note.format(count=format_count(ahead))})"


def _print_sources(answer: Answer) -> None:
    print("\n" + _("Sources:"))
    for card in answer.sources:
        mark = "*" if card.n in answer.cited else " "
        snippet = card.text[:SNIPPET_CHARS].replace("\n", " ")
        score = _("(score {score})").format(score=format_number(card.score))
        print(f" {mark}[{card.n}] {card.label}  {score}")
        print(f"      {snippet}…")


def _print_error(answer: Answer) -> None:
    """Why the model could not answer, in the reader's language."""
    message = explain(answer.problem) if answer.problem is not None else answer.error
    print(_("error: {message}").format(message=message), file=sys.stderr)


def _chat(service: RagService, options: AnswerOptions) -> int:
    turns: list[tuple[str, str]] = []
    print(_("Ask a question (empty line or Ctrl-D to quit)."))
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        answer = ask(service, question, turns, options, stream=True)
        if answer.error:
            _print_error(answer)
            continue
        turns.append((question, answer.text))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument("question", nargs="?", help="the question (omit with --chat)")
    parser.add_argument("--chat", action="store_true", help="interactive session with history")
    parser.add_argument("--profile", help="llm profile from the config (default: llm.profile)")
    parser.add_argument("--k", type=int, help="passages to retrieve")
    parser.add_argument(
        "--kb", default=DEFAULT_KB, help=f"knowledge base to ask (default: {DEFAULT_KB})"
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=FILTER_HELP,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    args = parser.parse_args(argv)
    if not args.chat and not args.question:
        parser.error(_("give a question, or --chat"))
    try:
        args.filter = parse_filters(args.filter)
    except ValueError as err:
        parser.error(str(err))
    return args


if __name__ == "__main__":
    sys.exit(main())
