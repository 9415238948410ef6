"""The chat page: questions in, streamed answers out, each with numbered source cards.

Model output and document text are shown as Markdown with HTML left off (Streamlit's default);
document text is escaped first so a note's own Markdown or markup cannot change the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import streamlit as st
from langchain_core.documents import Document

from chains.citations import attribute_citations, cited_numbers, source_label
from chains.rag import history_messages
from config import Settings
from index.bm25 import tokenize
from index.store import KnowledgeBase
from llms.errors import explain
from ui import resources

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
    for number, source in enumerate(sources, start=1):
        mark = "✓ " if number in cited else ""
        score = f" · score {source['score']:.3f}" if show_scores else ""
        with st.expander(f"{mark}[{number}] {source['label']}{score}"):
            if source.get("before"):
                st.caption("… before")
                st.text(source["before"])
            st.markdown(highlight(source["text"], question))
            if source.get("after"):
                st.caption("after …")
                st.text(source["after"])


def page(settings: Settings, profile: str) -> None:
    st.title(settings.ui.title)
    knowledge_base = resources.knowledge_base(settings)
    if knowledge_base is None:
        st.info(
            "There is no index yet. Open **Knowledge base** in the sidebar to index the sample "
            "notes or your own files, or run `python ingest.py`."
        )
        return
    turns: list[dict] = st.session_state.setdefault("turns", [])
    for turn in turns:
        _render_turn(turn, settings)
    question = st.chat_input("Ask about your documents…")
    if question:
        turns.append(_ask(question, turns, settings, knowledge_base, profile))


def _render_turn(turn: dict, settings: Settings) -> None:
    with st.chat_message("user"):
        st.markdown(escape_markdown(turn["question"]))
    with st.chat_message("assistant"):
        if turn["error"]:
            st.error(turn["error"])
        else:
            st.markdown(turn["answer"])
        render_sources(turn["question"], turn["sources"], turn["cited"], settings.ui.show_scores)


def _ask(
    question: str, turns: list[dict], settings: Settings, knowledge_base, profile: str
) -> dict:
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    turn = {"question": question, "answer": "", "sources": [], "cited": [], "error": ""}
    history = history_messages([(t["question"], t["answer"]) for t in turns if not t["error"]])
    with st.chat_message("assistant"):
        found: dict[str, list[Document]] = {"sources": []}
        try:
            answerer = resources.answerer_for(settings, knowledge_base, profile)
            slot = st.empty()
            with slot:
                streamed = st.write_stream(_answer_pieces(answerer, question, history, found))
            text = streamed if isinstance(streamed, str) else "".join(map(str, streamed))
        except Exception as err:  # every model failure is shown, never a stack trace
            turn["error"] = str(explain(err))
            st.error(turn["error"])
            text = ""
            if not found["sources"]:  # retrieval still works without a model
                found["sources"] = resources.retrieval_only(settings, knowledge_base, question)
        sources = found["sources"]
        turn["answer"] = attribute_citations(text, sources)
        if turn["answer"] != text:  # the streamed text, now with its citations
            slot.markdown(turn["answer"])
        turn["cited"] = cited_numbers(turn["answer"], len(sources))
        turn["sources"] = [
            {
                "label": source_label(d),
                "text": d.page_content,
                "score": d.metadata.get("score", 0.0),
                "source": d.metadata["source"],
            }
            for d in sources
        ]
        render_sources(question, turn["sources"], turn["cited"], settings.ui.show_scores)
    return turn


def _card(document: Document, knowledge_base: KnowledgeBase) -> dict:
    """What a source card shows: the passage, and the windows before and after it."""
    before, after = knowledge_base.neighbours(document)
    return {
        "label": source_label(document),
        "source": document.metadata["source"],
        "score": document.metadata.get("score", 0.0),
        "text": document.page_content,
        "before": before.page_content if before else "",
        "after": after.page_content if after else "",
    }


def _answer_pieces(answerer, question: str, history, found: dict) -> Iterator[str]:
    for chunk in answerer.chain.stream({"question": question, "history": history}):
        if "sources" in chunk:
            found["sources"] = chunk["sources"]
        if chunk.get("answer"):
            yield chunk["answer"]


def conversation_markdown(turns: list[dict]) -> str:
    """The chat as a Markdown file: questions, answers, and their sources."""
    lines = ["# ragchat conversation", ""]
    for turn in turns:
        lines += [f"## {turn['question']}", "", turn["error"] or turn["answer"], ""]
        for number, source in enumerate(turn["sources"], start=1):
            lines.append(f"- [{number}] {source['label']}")
        lines.append("")
    return "\n".join(lines)
