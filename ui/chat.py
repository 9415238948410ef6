"""The chat page: questions in, streamed answers out, each with numbered source cards.

Model output and document text are shown as Markdown with HTML left off (Streamlit's default);
document text is escaped first so a note's own Markdown or markup cannot change the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from chains.service import Answer, AnswerOptions, RagService, ServiceHub, StreamEvent, Waiting
from index.bm25 import tokenize
from index.store import IndexNotFoundError, IndexStoreError

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def highlight(text: str, question: str) -> str:
    """Escaped text with the question's search terms marked (Streamlit's background colour)."""
    terms = sorted({t for t in tokenize(question) if len(t) > 1}, key=len, reverse=True)
    if not terms:
        return escape_markdown(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape_markdown(text[last : match.start()]))
        pieces.append(f":orange-background[{escape_markdown(match.group())}]")
        last = match.end()
    pieces.append(escape_markdown(text[last:]))
    return "".join(pieces)


def render_sources(question: str, sources: list[dict], cited: list[int], show_scores: bool) -> None:
    """Numbered cards: card n is the passage `[n]` in the answer refers to."""
    if not sources:
        return
    st.caption("Sources")
    for source in sources:
        mark = "✓ " if source["n"] in cited else ""
        score = f" · score {source['score']:.3f}" if show_scores else ""
        flag = "⚠ " if source.get("instructions") else ""
        with st.expander(f"{mark}{flag}[{source['n']}] {source['label']}{score}"):
            if flag:
                st.warning(
                    "This passage holds text that reads like instructions to the assistant; "
                    "it was not shown to the model:\n\n"
                    + "\n".join(f"- {escape_markdown(s)}" for s in source["instructions"])
                )
            st.markdown(highlight(source["text"], question))


def page(hub: ServiceHub, profile: str, options: AnswerOptions) -> None:
    settings = hub.settings
    st.title(settings.ui.title)
    try:
        hub.knowledge_base()
    except IndexNotFoundError:
        st.info(
            "There is no index yet. Open **Knowledge base** in the sidebar to index the sample "
            "notes or your own files, or run `python ingest.py`."
        )
        return
    except IndexStoreError as err:
        st.error(f"{err}\n\nOr rebuild it from the **Knowledge base** page.")
        return
    turns: list[dict] = st.session_state.setdefault("turns", [])
    for turn in turns:
        _render_turn(turn, settings.ui.show_scores)
    question = st.chat_input("Ask about your documents…")
    if question:
        with st.spinner("Loading the chat model…"):
            service = hub.service(profile)
        turns.append(_ask(service, question, turns, options, settings.ui.show_scores))


def _render_turn(turn: dict, show_scores: bool) -> None:
    with st.chat_message("user"):
        st.markdown(escape_markdown(turn["question"]))
    with st.chat_message("assistant"):
        if turn["error"]:
            st.error(turn["error"])
        else:
            st.markdown(turn["answer"])
        render_sources(turn["question"], turn["sources"], turn["cited"], show_scores)


def _ask(
    service: RagService,
    question: str,
    turns: list[dict],
    options: AnswerOptions,
    show_scores: bool,
) -> dict:
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    history = [(t["question"], t["answer"]) for t in turns if not t["error"]]
    with st.chat_message("assistant"):
        finished: list[Answer] = []
        waiting = st.empty()
        slot = st.empty()
        with slot:
            pieces = _pieces(service.stream(question, history, options), waiting, finished)
            streamed = st.write_stream(pieces)
        answer = finished[0]
        text = streamed if isinstance(streamed, str) else "".join(map(str, streamed))
        if answer.error:
            slot.error(answer.error)
        elif answer.text != text:  # streaming could not show it checked: show it now
            slot.markdown(answer.text)
        sources = [asdict(card) for card in answer.sources]
        render_sources(question, sources, answer.cited, show_scores)
    return {
        "question": question,
        "answer": answer.text,
        "sources": sources,
        "cited": answer.cited,
        "error": answer.error,
    }


def _pieces(
    events: Iterator[StreamEvent], waiting: DeltaGenerator, finished: list[Answer]
) -> Iterator[str]:
    """The answer's text pieces for `st.write_stream`; a note in `waiting` while the model
    serves others (cleared once the answer starts); the final Answer goes into `finished`."""
    for event in events:
        if isinstance(event, Waiting):
            waiting.caption(f"⏳ waiting for the model, {event.ahead} ahead")
        elif isinstance(event, Answer):
            finished.append(event)
        else:
            waiting.empty()
            yield event
    waiting.empty()


def conversation_markdown(turns: list[dict]) -> str:
    """The chat as a Markdown file: questions, answers, and their sources."""
    lines = ["# ragchat conversation", ""]
    for turn in turns:
        lines += [f"## {turn['question']}", "", turn["error"] or turn["answer"], ""]
        for source in turn["sources"]:
            lines.append(f"- [{source['n']}] {source['label']}")
        lines.append("")
    return "\n".join(lines)
