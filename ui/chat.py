"""The chat page: questions in, streamed answers out, each with numbered source cards.

Model output and document text are shown as Markdown with HTML left off (Streamlit's default);
document text is escaped first so a note's own Markdown or markup cannot change the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import asdict
from functools import partial

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from i18n import _, explain, format_count, ngettext
from index.bm25 import tokenize
from index.errors import IndexNotFoundError, IndexStoreError
from llms.queue import QueueFull
from services.answering import Answer, AnswerOptions, StreamEvent, Waiting
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB
from services.people import Person
from ui import choices, errors
from ui.history import save_turn
from ui.markdown import escape_markdown
from ui.time_breakdown import show_time_breakdown
from ui.viewer import Opener


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


def render_sources(
    question: str,
    sources: list[dict],
    cited: list[int],
    show_scores: bool,
    open_card: Callable[[dict], None] | None = None,
) -> None:
    """Numbered cards: card n is the passage `[n]` in the answer refers to; `open_card` adds
    each card's button that opens it in its document (`ui.viewer`)."""
    if not sources:
        return
    st.caption(_("Sources"))
    for source in sources:
        mark = "✓ " if source["n"] in cited else ""
        score = (
            " · " + _("score {score}").format(score=f"{source['score']:.3f}") if show_scores else ""
        )
        flag = "⚠ " if source.get("instructions") else ""
        note = f" · ⚠ {_(source['note'])}" if source.get("note") else ""
        with st.expander(f"{mark}{flag}[{source['n']}] {source['label']}{score}{note}"):
            if flag:
                st.warning(
                    _(
                        "This passage holds text that reads like instructions to the assistant; "
                        "it was not shown to the model:"
                    )
                    + "\n\n"
                    + "\n".join(f"- {escape_markdown(s)}" for s in source["instructions"])
                )
            st.markdown(highlight(source["text"], question))
            if open_card is not None:
                open_card(source)


def page(
    hub: ServiceHub, profile: str, options: AnswerOptions, kb: str | None, person: Person
) -> None:
    """The chat with knowledge base `kb`, as `person` (who may read it: the picker offers no
    other, and every service call checks again; None: they may read none)."""
    settings = hub.settings
    st.title(settings.ui.title)
    if kb is None:
        st.info(_("No knowledge base is shared with you yet: ask its owner or an admin."))
        return
    try:
        hub.knowledge_bases.open(kb, person=person)
    except IndexNotFoundError:
        command = "python ingest.py" + ("" if kb == DEFAULT_KB else f" --kb {kb}")
        st.info(
            _(
                "There is no index yet. Open **Knowledge base** in the sidebar to index the "
                "sample notes or your own files, or run `{command}`."
            ).format(command=command)
        )
        return
    except IndexStoreError as err:
        errors.show(err, then=_("Or rebuild it from the **Knowledge base** page."))
        return
    kb_settings = hub.knowledge_bases.settings_for(kb, person=person)
    turns: list[dict] = st.session_state.setdefault("turns", [])
    for number, turn in enumerate(turns):
        _render_turn(turn, settings.ui.show_scores, Opener(kb_settings, f"turn-{number}"))
    question = st.chat_input(_("Ask about your documents…"))
    if question:
        with st.spinner(_("Loading the chat model…")):
            service = hub.service(profile, kb=kb, person=person)
        opener = Opener(kb_settings, f"turn-{len(turns)}")
        history = [(t["question"], t["answer"]) for t in turns if not t["error"]]
        try:  # the place in the model's line is taken here, before anything is drawn
            events = service.stream(question, history, options, person=person)
        except QueueFull as err:
            errors.show(err)
            return
        turns.append(_ask(events, question, settings.ui.show_scores, opener))
        save_turn(hub, kb, profile, turns, person)


def _render_turn(turn: dict, show_scores: bool, opener: Opener) -> None:
    with st.chat_message("user"):
        st.markdown(escape_markdown(turn["question"]))
    with st.chat_message("assistant"):
        if turn["error"]:  # kept in English, shown in the language of each run
            st.error(_(turn["error"]))
        else:
            st.markdown(turn["answer"])
            _unsupported(turn)
            opener.citations(turn)
        open_card = partial(opener.card, turn)
        render_sources(turn["question"], turn["sources"], turn["cited"], show_scores, open_card)


def _ask(events: Iterator[StreamEvent], question: str, show_scores: bool, opener: Opener) -> dict:
    """Draw the question and its answer as `events` (`RagService.stream`) bring it; the turn."""
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    with st.chat_message("assistant"):
        finished: list[Answer] = []
        waiting = st.empty()
        slot = st.empty()
        with slot:
            pieces = _pieces(events, waiting, finished)
            streamed = st.write_stream(pieces)
        answer = finished[0]
        text = streamed if isinstance(streamed, str) else "".join(map(str, streamed))
        if answer.problem is not None:
            slot.error(explain(answer.problem))
        elif answer.text != text:  # streaming could not show it checked: show it now
            slot.markdown(answer.text)
        turn = {
            "question": question,
            "answer": answer.text,
            "sources": [asdict(card) for card in answer.sources],
            "cited": answer.cited,
            "error": answer.error,
            "unsupported": answer.unsupported,
            "why_unsupported": {s: explain(why) for s, why in answer.why_unsupported.items()},
            "withheld": answer.withheld,
        }
        if not answer.error:
            _unsupported(turn)
            _kind(answer)
            opener.citations(turn)
        show_time_breakdown(answer)
        open_card = partial(opener.card, turn)
        render_sources(question, turn["sources"], answer.cited, show_scores, open_card)
    return turn


def _unsupported(turn: dict) -> None:
    """The answer's sentences no passage supports, under it: they carry no citation, and the
    reader should know why (`chains.citations`; a rule's reason on hover). A draft answer
    replaced by the refusal is named with its reasons too. Stored conversations do not keep
    them."""
    sentences = turn.get("unsupported") or []
    why = turn.get("why_unsupported") or {}
    if sentences:
        quoted = " · ".join(f"“{escape_markdown(s)}”" for s in sentences)
        st.caption(
            "⚠️ " + _("Not found in the sources: {quoted}").format(quoted=quoted),
            help=_reasons({s: why[s] for s in sentences if s in why}),
        )
    elif turn.get("withheld"):
        st.caption(
            _("A draft answer was withheld: the sources do not state it."),
            help=_reasons(why) or f"“{turn['withheld']}”",
        )


def _kind(answer: Answer) -> None:
    label = choices.kind_label(answer.kind, answer.left_out)
    if label is not None:
        st.caption(label)


def _reasons(why: dict[str, str]) -> str | None:
    """Each judged sentence with why it is unsupported, one a line (the caption's hover)."""
    return "\n\n".join(f"“{s}”: {reason}" for s, reason in why.items()) or None


def _pieces(
    events: Iterator[StreamEvent], waiting: DeltaGenerator, finished: list[Answer]
) -> Iterator[str]:
    """The answer's text pieces for `st.write_stream`; a note in `waiting` while the model
    serves others (cleared once the answer starts); the final Answer goes into `finished`."""
    for event in events:
        if isinstance(event, Waiting):
            ahead = ngettext(
                "waiting for the model, {count} ahead",
                "waiting for the model, {count} ahead",
                event.ahead,
            )
            waiting.caption("⏳ " + ahead.format(count=format_count(event.ahead)))
        elif isinstance(event, Answer):
            finished.append(event)
        else:
            waiting.empty()
            yield event
    waiting.empty()
