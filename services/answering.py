"""The one answer path behind every face: the app, `ask.py`, `serve.py`, `evaluate.py`, the
benchmarks and `finetune.py build-data` all ask a `RagService` and only render what it returns.

    service = hub.service("local", kb="default")    # built by the container (services.container)
    for event in service.stream(question, history, AnswerOptions(k=3)):
        ...  # Waiting(ahead) while the model is busy, answer text pieces, then one Answer

A service holds one index version and one profile's chat models; the local model's single seat
(`llms.queue`) is shared with every other service and ingest. Everything a request may vary (k,
mode, temperature, translation, filter) is an `AnswerOptions` argument, never a reason to
rebuild.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import cast

import numpy as np
from langchain_core.documents import Document
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from opentelemetry.util.types import AttributeValue

from chains.citations import (
    Checked,
    CitationStream,
    Support,
    cited_numbers,
    embedder_support,
    fit_to_budget,
    format_context,
    sentence_spans,
    source_label,
)
from chains.expansion import QueryTranslator
from chains.gathering import (
    Selection,
    in_turns,
    key_passages,
    main_document,
    per_document,
    shared_words,
)
from chains.injection import screen
from chains.kinds import Kind, QuestionRouter, sub_questions
from chains.rag import PROMPT_OVERHEAD_TOKENS, build_rag_chain, history_messages
from chains.rerank import SentenceReranker, SentenceSimilarity
from chains.retrieval import HybridRetriever, Mode, build_retriever
from config import Settings, TranslateQuery
from errors import N_, Message, RagchatError
from index.catalog import DEFAULT_KB
from index.embeddings import unit_rows
from index.filters import ChunkFilter
from index.knowledge_base import KnowledgeBase
from llms import ChatModels, LLMError, estimate_tokens, explain
from llms.queue import ModelQueue
from observability.metrics import RETRIEVAL_SECONDS, record_answer
from observability.stages import Record, current, stage
from services.outlines import OutlineStore, outline_path
from services.people import LOCAL_OPERATOR, Person
from text.language import REFUSALS, question_language

QUESTION_RESERVE_TOKENS = 200
tracer = trace.get_tracer(__name__)


@dataclass(frozen=True)
class AnswerOptions:
    """Per-request choices; None keeps the configured value."""

    k: int | None = None
    """Passages retrieved."""
    mode: Mode | None = None
    """hybrid, dense or bm25."""
    temperature: float | None = None
    translate: TranslateQuery | None = None
    """When to also search the question's translation."""
    filter: ChunkFilter | None = None
    """Only search the chunks it matches: files, folders, types, languages, tags, dates."""
    rerank: bool | None = None
    """Reorder the first passages by their sentence closest to the question (`chains.rerank`);
    False keeps the fused order (benchmarks compare the two)."""
    kind: Kind | None = None
    """Answer the question as this kind (`chains.kinds`); None: as routed."""
    passages: tuple[Document, ...] | None = None
    """Answer from exactly these passages instead of searching (the faithfulness and oracle
    evaluations give the model a passage of their choosing); still fitted to the budget."""


@dataclass(frozen=True)
class SourceCard:
    """A numbered passage as every face shows it: `[n]` in the answer refers to card n."""

    n: int
    id: str
    source: str
    page: int | None
    start: int
    end: int
    score: float
    text: str
    label: str
    ocr: bool = False
    """The text was recognized from an image (a scanned page, a picture)."""
    instructions: tuple[str, ...] = ()
    """Sentences that read like instructions to the assistant (`chains.injection`): shown
    flagged, withheld from the model."""

    @classmethod
    def of(cls, number: int, document: Document) -> SourceCard:
        meta = document.metadata
        return cls(
            n=number,
            id=str(document.id),
            source=meta["source"],
            page=meta.get("page"),
            start=meta.get("start", 0),
            end=meta.get("end", 0),
            score=round(float(meta.get("score", 0.0)), 4),
            text=document.page_content,
            label=source_label(document),
            ocr=bool(meta.get("ocr")),
            instructions=tuple(meta.get("instructions", ())),
        )


@dataclass(frozen=True)
class Waiting:
    """The local model is busy: `ahead` requests will be served before this one."""

    ahead: int


@dataclass
class Answer:
    """A finished answer: the text with checked citations, its numbered sources, timings in
    seconds, and what went wrong (`error`, one line; `error_code` for the API)."""

    question: str
    text: str = ""
    cited: list[int] = field(default_factory=list)
    sources: list[SourceCard] = field(default_factory=list)
    standalone_question: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    stages: list[tuple[str, float]] = field(default_factory=list)
    """Where the time went, stage by stage in order (queue, rewrite, translate, dense, bm25,
    fusion, rerank, prompt, generate, citations; those that ran), in seconds: the same as the
    answer's trace (`observability.stages`), for faces without a collector."""
    error: str = ""
    error_code: str = ""
    """`model_unavailable` (cannot be built), `model_error` (failed while answering) or
    `cancelled`."""
    problem: RagchatError | Message | None = field(default=None, repr=False, compare=False)
    """`error` as a translatable message: faces show it in the reader's language
    (`i18n.explain`); JSON keeps the English `error`."""
    unsupported: list[str] = field(default_factory=list)
    """Sentences of the answer (markers removed) that no passage supports: shown as such, cited
    nowhere (`chains.citations`); a comparison's or list's are left out of `text`
    (`LINE_KINDS`)."""
    why_unsupported: dict[str, Message] = field(default_factory=dict)
    """For an unsupported sentence (of `text`, or of `withheld`) a rule judged, why: the key
    terms its passage does not state, or how it misses the question (`chains.claims`)."""
    withheld: str = ""
    """The model's answer when no passage supported any of it and `text` is the refusal
    instead (the profile's `refuse_unsupported`)."""
    kind: str = "lookup"
    """What kind of question it was taken for (`chains.kinds`): lookup, summary, overview,
    comparison or list."""
    left_out: int = 0
    """Passages found for the question that did not fit the prompt's budget for its kind: the
    answer drew on part of the material (`questions.context_tokens`)."""

    def to_dict(self) -> dict:
        """JSON-ready: the error and the reasons as English text."""
        data = asdict(replace(self, problem=None))
        del data["problem"]
        return {**data, "why_unsupported": self.english_reasons()}

    def english_reasons(self) -> dict[str, str]:
        """`why_unsupported` in English (the API's and the CLI's JSON)."""
        return {sentence: str(why) for sentence, why in self.why_unsupported.items()}


StreamEvent = Waiting | str | Answer


class RagService:
    """Everything a question needs, for one index version and one chat model profile."""

    def __init__(
        self,
        settings: Settings,
        knowledge_base: KnowledgeBase,
        profile: str,
        models: ChatModels | LLMError,
        queue: ModelQueue,
        kb: str = DEFAULT_KB,
    ) -> None:
        """`kb` names the knowledge base on traces."""
        self.profile = profile
        self.kb = kb
        self.include_content = settings.tracing.include_content
        self.knowledge_base = knowledge_base
        self.models = models
        """The profile's chat models, or why they could not be built (retrieval still works)."""
        ready = isinstance(models, ChatModels)
        self.queue = queue if ready and models.exclusive else None
        """The local model's line; None for remote backends, which queue on their side."""
        retrieval = settings.retrieval
        translator = None
        if ready and retrieval.translate_query != "off":
            translator = QueryTranslator(
                models.helper,
                knowledge_base.language_shares,
                retrieval.original_query_weight,
                policy=retrieval.translate_query,
                substantial=retrieval.translate_share,
            )
        self.retriever: HybridRetriever = build_retriever(knowledge_base, retrieval, translator)
        self.instruction_policy = retrieval.instruction_passages
        rerank = self.retriever.rerank
        similarity = (
            rerank.similarity
            if isinstance(rerank, SentenceReranker)
            else SentenceSimilarity(
                knowledge_base.embeddings,
                retrieval.close_similarity,
                knowledge_base.sentence_vectors_of,
            )
        )
        self.support: Support = embedder_support(
            similarity, retrieval.support_similarity, retrieval.support_similarity_across
        )
        """When a passage supports an answer sentence (`chains.citations`)."""
        profile_settings = settings.llm.profiles[profile]
        self.refuse_unsupported = profile_settings.refuse_unsupported
        self.answer_similarity = retrieval.answer_similarity
        self.count_tokens = models.count_tokens if ready else estimate_tokens
        self.budgets = {kind: context_budget(settings, profile, kind) for kind in GATHER}
        """Tokens of passages per kind of question."""
        self.questions = settings.questions
        self.outlines = OutlineStore(outline_path(settings.paths.index))
        """Every document's outline, computed at ingest (`services.outlines`)."""
        self.router = QuestionRouter(
            models.helper if ready and settings.questions.route_with_model else None
        )
        self.chain = (
            build_rag_chain(
                self.select,
                models.llm,
                models.helper,
                models.call_options,
                self.worth_asking,
                profile_settings.quote_languages,
                self.route,
                settings.questions.writer == "outline",
            )
            if ready
            else None
        )

    def retrieve(self, question: str, options: AnswerOptions = AnswerOptions()) -> list[Document]:
        """The ranked passages for a question (before trimming to the prompt's budget), screened
        for planted instructions (`chains.injection`): with `drop`, twice as many are fetched
        so that k remain when some are left out."""
        translate = options.translate if self.chain else "off"
        k = options.k or self.retriever.k
        fetch = 2 * k if self.instruction_policy == "drop" else k
        with RETRIEVAL_SECONDS.time():
            found = self.retriever.invoke(
                question,
                k=fetch,
                mode=options.mode,
                translate=translate,
                filter=options.filter,
                rerank=options.rerank,
            )
            return screen(found, self.instruction_policy)[:k]

    def worth_asking(self, passages: Sequence[Document]) -> bool:
        """Whether the model should answer from these passages: with `refuse_unsupported`, only
        if one holds a sentence close to the question (`retrieval.answer_similarity`; the
        reranker scored them). A small model given passages near the topic but without the
        answer invents one; a question none comes close to is refused without asking it."""
        if not self.refuse_unsupported:
            return True
        scores = [d.metadata["sentence_score"] for d in passages if "sentence_score" in d.metadata]
        return not scores or max(scores) >= self.answer_similarity

    def route(self, question: str, options: AnswerOptions = AnswerOptions()) -> Kind:
        """What kind of question it is: the option's, else the router's (`chains.kinds`)."""
        return options.kind or self.router(question).kind

    def passages(self, question: str, options: AnswerOptions = AnswerOptions()) -> list[Document]:
        """The passages the model is shown: the best ones that fit the context budget."""
        return self.select(question, options, self.route(question, options)).passages

    def select(self, question: str, options: AnswerOptions, kind: Kind) -> Selection:
        """The passages for a question of `kind` (`GATHER`), the best that fit its budget."""
        if options.passages is not None:
            found = list(options.passages)
        else:
            found = GATHER[kind](self, question, options)
        with stage(tracer, "prompt", {"ragchat.candidates": len(found)}) as span:
            kept = fit_to_budget(found, self.count_tokens, self.budgets[kind])
            span.set_attribute("ragchat.passages", len(kept))
            span.set_attribute("ragchat.kind", kind)
            current().content(span, "ragchat.passages.text", format_context(kept))
        return Selection(kept, len(found) - len(kept))

    def _for_list(self, question: str, options: AnswerOptions) -> list[Document]:
        """Twice `questions.list_k` found, at most `per_document` from one file."""
        wanted = self.questions.list_k
        found = self.retrieve(question, replace(options, k=2 * wanted))
        return per_document(found, self.questions.per_document)[:wanted]

    def _for_comparison(self, question: str, options: AnswerOptions) -> list[Document]:
        """`compare_k` per thing compared and for the whole question, taking turns."""
        sized = replace(options, k=self.questions.compare_k)
        return in_turns(self.retrieve(q, sized) for q in sub_questions(question))

    def _for_summary(self, question: str, options: AnswerOptions) -> list[Document]:
        """The outline of the document the question names (`chains.naming`), else of the one
        among those the passages found come from that has the heading closest to the question
        (a question describes the document it means by its topic: its sections' names), then
        those passages of it."""
        found = self.retrieve(question, replace(options, k=self.questions.list_k))
        names = self.retriever.names
        named = set(names.named_in(question)) if names is not None else set()
        source = main_document([d for d in found if d.metadata["source"] in named]) or (
            self._described(question, options, found)
        )
        if source is None:
            return []
        lines = [line.as_passage() for line in self.outlines.outline(source)]
        return lines + [d for d in found if d.metadata["source"] == source]

    def _described(
        self, question: str, options: AnswerOptions, found: Sequence[Document]
    ) -> str | None:
        """Of the documents `found` comes from, the one with a heading sharing the most words
        with the question as searched (its translation too: `chains.gathering.shared_words`),
        then the one with the heading closest to it for the embedder (which tells documents
        on one topic apart poorly, and a question from headings of another language); without
        headings, the one most of the passages come from."""
        sources = list(dict.fromkeys(d.metadata["source"] for d in found))
        expand = self.retriever.expand_query
        translate = options.translate if self.chain else "off"
        phrasings = expand(question, translate) if expand else [(question, 1.0)]
        shared = shared_words(self.outlines.outlines(sources), [t for t, _w in phrasings])
        embedded = self.knowledge_base.embeddings.embed_query(question)
        vector = unit_rows(np.asarray([embedded], dtype=np.float32))[0]
        closest = self.outlines.closest_headings(vector, sources)
        if not closest:
            return main_document(found)
        return max(closest, key=lambda source: (shared.get(source, 0), closest[source]))

    def _for_overview(self, question: str, options: AnswerOptions) -> list[Document]:
        """The headings, then the best key sentences, of each document's outline (of those the
        filter lets through), documents taking turns (`chains.gathering.key_passages`)."""
        chosen = options.filter
        sources = {
            metadata["source"]
            for metadata in self.knowledge_base.metadatas()  # no texts read
            if chosen is None or chosen.is_empty or chosen.matches(metadata)
        }
        outlines = self.outlines.outlines(sources)
        return key_passages(outlines, self.questions.overview_per_document)

    def stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        options: AnswerOptions = AnswerOptions(),
        cancel: threading.Event | None = None,
        *,
        person: Person = LOCAL_OPERATOR,
    ) -> Iterator[StreamEvent]:
        """Yield `Waiting` while the local model serves others, then the answer's text pieces,
        then one `Answer`. The place in the local model's line is taken by this call, as
        `person` (the line takes turns between people), so one who already has as many requests
        waiting as the line allows is refused here, with QueueFull, before anything streams.
        Setting `cancel` (or closing the generator, or dropping it) gives up the place in line
        or stops the generation, and frees the model for the next request."""
        events = self._stream(question, history, options, cancel or threading.Event(), person)
        next(events)  # up to its first `yield`: in line (or QueueFull), nothing streamed yet
        return cast(Iterator[StreamEvent], events)

    def _stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]],
        options: AnswerOptions,
        cancel: threading.Event,
        person: Person,
    ) -> Iterator[StreamEvent | None]:
        """`_answer`'s events inside the answer's span, opened under the caller's context (a
        request's span) and ended however the generator ends."""
        record = Record(self.include_content)
        record.start(tracer, "answer", {"ragchat.kb": self.kb, "ragchat.profile": self.profile})
        record.content(record.root, "ragchat.question", question)
        try:
            yield from self._answer(record, question, history, options, cancel, person)
        finally:
            record.end()

    def _answer(
        self,
        record: Record,
        question: str,
        history: Sequence[tuple[str, str]],
        options: AnswerOptions,
        cancel: threading.Event,
        person: Person,
    ) -> Iterator[StreamEvent | None]:
        """`stream`'s events after a first None, yielded once in line: a generator that has
        started runs its `finally` however it ends, so the place is always given back. Each
        stage is a child span of `record`'s and a line of `Answer.stages`
        (`observability.stages`)."""
        started = time.perf_counter()
        answer = Answer(question=question, standalone_question=question)
        sources: list[Document] = []
        refusal = REFUSALS[question_language(question)] if self.refuse_unsupported else None
        checked: CitationStream | _CheckedLines
        checked = CitationStream(sources, self.support, refusal, question)
        generation = _Generation()
        ticket = self.queue.join(person.name) if self.queue is not None else None
        try:
            yield None
            if ticket is not None:
                for ahead in self.queue.positions(ticket, cancel.is_set):
                    yield Waiting(ahead)
            answer.timings["queued_s"] = time.perf_counter() - started
            record.add(tracer, "queue", started, time.perf_counter())
            if isinstance(self.models, LLMError):
                answer.error_code = "model_unavailable"
                raise self.models
            answer.error_code = "model_error"
            inputs = {
                "question": question,
                "history": history_messages(list(history)),
                "options": options,
                "temperature": options.temperature,
            }
            for chunk in record.within(self.chain.stream(inputs)):
                if cancel.is_set():
                    break
                if "standalone_question" in chunk:
                    answer.standalone_question = chunk["standalone_question"]
                if "kind" in chunk:
                    answer.kind = chunk["kind"]
                if "selection" in chunk:
                    answer.left_out = chunk["selection"].left_out
                if "sources" in chunk:
                    sources = chunk["sources"]
                    checked = CitationStream(sources, self.support, refusal, self._judged(answer))
                    if answer.kind in LINE_KINDS:
                        checked = _CheckedLines(checked)
                    answer.timings["retrieval_s"] = time.perf_counter() - started
                    generation.started = time.perf_counter()
                generation.feed(chunk.get("answer", ""))
                shown = checked.feed(chunk.get("answer", ""))
                if shown:
                    answer.timings.setdefault("first_token_s", time.perf_counter() - started)
                    yield shown
            if cancel.is_set():
                answer.error_code = "cancelled"
                answer.problem = Message(N_("the request was cancelled"))
            else:
                answer.error_code = ""
        except Exception as err:  # client libraries raise many kinds; explain() names them
            answer.problem = explain(err)
            if not sources:  # retrieval needs no chat model: still show the passages
                with record.active():  # as a lookup: no second routing after a failure
                    fallback = replace(options, translate="off")
                    sources = self.select(question, fallback, "lookup").passages
                checked = CitationStream(sources, self.support)
        finally:
            if ticket is not None:
                self.queue.leave(ticket)
        answer.error = str(answer.problem) if answer.problem is not None else ""
        if generation.started:
            self._record_generation(record, generation, answer, sources)
        checking = time.perf_counter()
        rest = checked.finish(complete=not answer.error)
        final = checked.checked
        answer.text = final.text
        answer.unsupported = final.unsupported
        answer.withheld = final.withheld
        answer.why_unsupported = final.why
        answer.cited = cited_numbers(answer.text, len(sources))
        answer.sources = [SourceCard.of(n, d) for n, d in enumerate(sources, start=1)]
        record.add(
            tracer,
            "citations",
            checking,
            time.perf_counter(),
            {"ragchat.cited": len(answer.cited), "ragchat.unsupported": len(answer.unsupported)},
        )
        if rest and not answer.error:
            yield rest
        answer.timings["total_s"] = time.perf_counter() - started
        answer.stages = list(record.stages)
        self._finish(record, answer, generation)
        record.end()  # before the answer is handed over: a face may reply at once
        yield answer

    def _judged(self, answer: Answer) -> str:
        """The question an answer's first claim must answer (`chains.claims.off_question`):
        none for an answer the outline writer gives, whose lines are its passages' own words
        (a summary's first line is the document's title, which answers no question)."""
        written = self.questions.writer == "outline" and answer.kind in ("summary", "overview")
        return "" if written else answer.standalone_question

    def _record_generation(
        self, record: Record, generation: _Generation, answer: Answer, sources: list[Document]
    ) -> None:
        """The `generate` stage, from the passages' arrival to the model's last token: token
        counts by the model's tokenizer (the prompt's fixed part estimated) and its TTFT."""
        ended = time.perf_counter()
        prompt = format_context(sources) + answer.standalone_question
        generation.tokens = self.count_tokens(generation.text)
        attributes: dict[str, AttributeValue] = {
            "gen_ai.usage.input_tokens": self.count_tokens(prompt) + PROMPT_OVERHEAD_TOKENS,
            "gen_ai.usage.output_tokens": generation.tokens,
            "ragchat.passages": len(sources),
        }
        if generation.first:
            attributes["ragchat.first_token_s"] = generation.first - generation.started
            generation.seconds = ended - generation.first
        record.add(tracer, "generate", generation.started, ended, attributes)
        record.content(record.root, "ragchat.answer", generation.text)

    def _finish(self, record: Record, answer: Answer, generation: _Generation) -> None:
        """The answer's span and metrics get its outcome."""
        root = record.root
        root.set_attribute("ragchat.passages", len(answer.sources))
        if answer.error_code:
            root.set_attribute("ragchat.error_code", answer.error_code)
        if answer.error and answer.error_code != "cancelled":
            root.set_status(StatusCode.ERROR, answer.error)
        record_answer(self.profile, answer.error_code, answer.timings, generation.speed)

    def answer(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        options: AnswerOptions = AnswerOptions(),
        *,
        person: Person = LOCAL_OPERATOR,
    ) -> Answer:
        """The finished answer, without streaming."""
        events = self.stream(question, history, options, person=person)
        return next(e for e in events if isinstance(e, Answer))


def context_budget(settings: Settings, profile: str, kind: Kind = "lookup") -> int:
    """Tokens of passages the prompt may hold for a question of `kind`:
    `retrieval.context_tokens` for a lookup, `questions.context_tokens` for the others, clamped
    to what the profile's context window leaves after the answer, the fixed prompt and the
    question."""
    active = settings.llm.profiles[profile]
    window_left = (
        active.n_ctx - active.max_tokens - PROMPT_OVERHEAD_TOKENS - QUESTION_RESERVE_TOKENS
    )
    wide: dict[str, int] = dict(settings.questions.context_tokens)
    wanted = wide.get(kind, settings.retrieval.context_tokens)
    return max(64, min(wanted, window_left))


GATHER: dict[Kind, Callable[[RagService, str, AnswerOptions], list[Document]]] = {
    "lookup": RagService.retrieve,
    "list": RagService._for_list,
    "comparison": RagService._for_comparison,
    "summary": RagService._for_summary,
    "overview": RagService._for_overview,
}
"""How the passages of each kind of question are found (`chains.gathering`), before the
budget."""


LINE_KINDS: tuple[Kind, ...] = ("comparison", "list")
"""Kinds answered in lines that each read as an item found in the notes (`_CheckedLines`)."""


class _CheckedLines:
    """A comparison's or list's answer as `CitationStream` checks it, shown a whole line at a
    time and without the sentences no passage supports. Each line of such an answer reads as a
    point the notes make, so an unsupported one left in the text, even uncited, is taken as
    fact (the bundled model copies its worked example, or adds a line of its own, between
    cited ones); it stays in `Answer.unsupported`, which every face shows apart, as for a
    lookup ("not found in the sources")."""

    def __init__(self, stream: CitationStream) -> None:
        self.stream = stream
        """Fed whole lines only: a line is checked once, when it ends."""
        self.writing = ""
        self.shown = ""

    def feed(self, piece: str) -> str:
        self.writing += piece
        finished = self.writing.rfind("\n") + 1
        if not finished:
            return ""
        self.stream.feed(self.writing[:finished])
        self.writing = self.writing[finished:]
        checked = self.checked
        return self._show(checked.text) if checked.supported else ""

    def finish(self, complete: bool = True) -> str:
        self.stream.feed(self.writing)
        self.writing = ""
        self.stream.finish(complete)
        return self._show(self.checked.text)

    @property
    def checked(self) -> Checked:
        checked = self.stream.checked
        return replace(checked, text=_without(checked.text, set(checked.unsupported)))

    def _show(self, target: str) -> str:
        new = target[len(self.shown) :] if target.startswith(self.shown) else ""
        self.shown += new
        return new


def _without(text: str, sentences: set[str]) -> str:
    """`text` without `sentences` (whole sentences, as `sentence_spans` cuts them: one may run
    over a line break), and without the lines they leave empty."""
    cut, position = "", 0
    for start, end in sentence_spans(text):
        if text[start:end] in sentences:
            cut, position = cut + text[position:start] + _CUT, end
    lines = (cut + text[position:]).splitlines(keepends=True)
    return "".join(
        line.replace(_CUT, "") for line in lines if _CUT not in line or line.strip(_CUT + " \t\n")
    )


_CUT = "\x00"
"""Where a sentence was taken out (`_without`)."""


@dataclass
class _Generation:
    """What the answer's model call produced, and when (perf_counter seconds)."""

    started: float = 0.0
    """When the passages were ready and the prompt went to the model; 0 if it never did."""
    first: float = 0.0
    """When its first text arrived."""
    text: str = ""
    pieces: int = 0
    """Non-empty pieces: a refusal or an outline given without the model comes as one."""
    tokens: int = 0
    seconds: float = 0.0
    """From the first text to the last."""

    def feed(self, piece: str) -> None:
        if piece and not self.first:
            self.first = time.perf_counter()
        self.pieces += bool(piece)
        self.text += piece

    @property
    def speed(self) -> float | None:
        """Tokens per second of a streamed generation (None for text that came at once)."""
        return self.tokens / self.seconds if self.pieces > 1 and self.seconds > 0 else None
