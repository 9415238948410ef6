"""Hybrid retrieval: vector search and BM25 keyword search, fused by reciprocal rank.

Vector search finds paraphrases and other languages; BM25 finds names, terms and exact phrases
(Chinese through jieba). Both run in the knowledge base's store (on the server for Milvus), and
only the fused candidates' texts are fetched. Reciprocal rank fusion needs no score calibration
between the two: a passage earns weight / (rrf_k + rank) from every list it appears in.
Optional query expansion (e.g. the question translated by the LLM) adds phrasings: each one's
lists are fused, then the phrasings (`fuse_phrasings`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from opentelemetry import trace
from pydantic import ConfigDict

from chains.naming import (
    DocumentNames,
    Window,
    document_name,
    option_windows,
    options_in,
    without_names,
)
from chains.rerank import SentenceReranker, SentenceSimilarity
from config import RetrievalSettings, TranslateQuery
from index.filters import ChunkFilter
from index.knowledge_base import KnowledgeBase
from index.records import sentence_unit_limit
from observability.stages import stage
from text.normalize import normalize_text

RankedList = tuple[str, float, list[str]]
"""(retriever name, fusion weight, chunk ids best first)."""
WeightedQuery = tuple[str, float]
"""(query text, scale of its lists' fusion weights)."""
Mode = Literal["hybrid", "dense", "bm25"]


@runtime_checkable
class SecondLook(Protocol):
    """A query expansion that may add phrasings once the first ones were searched
    (`HybridRetriever.expand_after`)."""

    def after_search(
        self, question: str, policy: TranslateQuery | None, found: bool
    ) -> list[WeightedQuery]: ...


tracer = trace.get_tracer(__name__)


def reciprocal_rank_fusion(
    ranked_lists: Sequence[RankedList], rrf_k: int
) -> list[tuple[str, float, dict[str, int]]]:
    """Fuse ranked lists into (chunk id, score, best 1-based rank per retriever), best first.
    Equal scores keep the order in which the ids were first seen (stable)."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, weight, ids in ranked_lists:
        for rank, chunk_id in enumerate(ids, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (rrf_k + rank)
            best = ranks.setdefault(chunk_id, {})
            best[name] = min(rank, best.get(name, rank))
    order = sorted(scores, key=lambda chunk_id: -scores[chunk_id])
    return [(chunk_id, scores[chunk_id], ranks[chunk_id]) for chunk_id in order]


def fuse_phrasings(
    groups: Sequence[tuple[float, Sequence[RankedList]]], rrf_k: int, rivals_weight: float
) -> list[tuple[str, float, dict[str, int]]]:
    """Fuse each phrasing's lists (the question as asked, its translation) by reciprocal rank,
    then the phrasings, given as (weight, lists). Phrasings of one weight are rivals: a
    passage scores the best one's score plus `rivals_weight` times the others'; phrasings of
    different weights add up (one leads, the other supports it). Rivals are searches in two
    languages of notes holding both (`auto` over a mixed manual); added up, a window both find
    at middling ranks (a page's synopsis, a line mixing the languages) outranks the one the
    answer's language finds first (docs/quality.md). `rivals_weight` 1 is one fusion of all
    the lists. Best first, as `reciprocal_rank_fusion`; equal scores keep the first seen."""
    scores: dict[str, dict[float, list[float]]] = {}
    ranks: dict[str, dict[str, int]] = {}
    for weight, lists in groups:
        for chunk_id, score, best in reciprocal_rank_fusion(lists, rrf_k):
            scores.setdefault(chunk_id, {}).setdefault(weight, []).append(score)
            merged = ranks.setdefault(chunk_id, {})
            for name, rank in best.items():
                merged[name] = min(rank, merged.get(name, rank))
    total = {
        chunk_id: sum(
            max(found) + rivals_weight * (sum(found) - max(found)) for found in by_weight.values()
        )
        for chunk_id, by_weight in scores.items()
    }
    order = sorted(total, key=lambda chunk_id: -total[chunk_id])
    return [(chunk_id, total[chunk_id], ranks[chunk_id]) for chunk_id in order]


def searches_agree(dense: list[str], bm25: list[str], depth: int) -> bool:
    """Whether a question's dense and keyword searches found the same window: each one's first
    hit is among the other's first `depth` (False when either did not run). Measured on a
    mixed-language manual (docs/quality.md): when they agree, the window holding the answer is
    almost always among the first 5 already."""
    if not dense or not bm25:
        return False
    return dense[0] in bm25[:depth] and bm25[0] in dense[:depth]


class HybridRetriever(BaseRetriever):
    """LangChain retriever over a `KnowledgeBase`. Each result is a copy of the chunk with
    `score` (fused) and `ranks` (per retriever) added to its metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    knowledge_base: KnowledgeBase
    mode: Mode = "hybrid"
    k: int = 4
    fetch_k: int = 30
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    min_score: float = 0.0
    dedupe_overlaps: bool = True
    filter: ChunkFilter | None = None
    """Only search the chunks it matches (`index.filters`); None searches all."""
    expand_query: Callable[[str, TranslateQuery | None], list[WeightedQuery]] | None = None
    """(question, translation policy of the call) -> the phrasings to search, with the weight
    of each (the question itself among them): e.g. the question and its translation
    (`chains.expansion.QueryTranslator`). None searches the question alone."""
    expand_after: Callable[[str, TranslateQuery | None, bool], list[WeightedQuery]] | None = None
    """(question, policy of the call, whether its search found its window) -> more phrasings
    to search and fuse, decided once the first phrasings were searched: e.g. the translation
    only when the question as asked was not found (`searches_agree`;
    `chains.expansion.QueryTranslator.after_search`). None: no second look."""
    translate_agreement: int = 3
    """`searches_agree`'s depth."""
    after_search_weight: float = 0.5
    """Scales the weights of the phrasings `expand_after` adds."""
    names: DocumentNames | None = None
    """The knowledge base's files by name: a question that names some is also searched within
    them (`chains.naming`). None: never."""
    named_weight: float = 1.0
    """Scales the weights of the searches within the documents a question names."""
    option_weight: float = 1.0
    """The weight of the list of a named document's chunks that define or mention an option
    the question asks about (`-a`, `--all`: `chains.naming.option_windows`); 0: no such list."""
    rivals_weight: float = 0.0
    """`fuse_phrasings`: how much a passage's scores from phrasings of the same weight as its
    best one count (1: they add up)."""
    rerank: Callable[[np.ndarray, list[Document]], list[Document]] | None = None
    """Reorders the fused results given the query vectors of the phrasings searched
    (`chains.rerank`); None keeps the fused order."""

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: ChunkFilter | None = None,
        mode: Mode | None = None,
        translate: TranslateQuery | None = None,
        rerank: bool | None = None,
        **_: Any,
    ) -> list[Document]:
        """Per call, `k`, `filter`, `mode`, the `translate` policy and `rerank` (False: keep
        the fused order) replace the retriever's own settings: one retriever serves every
        request."""
        wanted = k or self.k
        chosen_filter = filter if filter is not None else self.filter
        allowed = None if chosen_filter is None or chosen_filter.is_empty else chosen_filter
        mode = mode or self.mode
        question = normalize_text(query)
        variants = (
            self.expand_query(question, translate) if self.expand_query else [(question, 1.0)]
        )
        matching = None
        if allowed is not None:
            with stage(tracer, "filter") as span:
                matching = self.knowledge_base.matching(allowed)
                span.set_attribute("ragchat.chunks", len(matching))
        reranking = self.rerank is not None and rerank is not False
        vectors, dense, bm25 = self._search(variants, mode, matching, reranking)
        if self.expand_after is not None:
            found = searches_agree(
                dense[0] if dense else [], bm25[0] if bm25 else [], self.translate_agreement
            )
            more = [
                (text, weight * self.after_search_weight)
                for text, weight in self.expand_after(question, translate, found)
            ]
            if more:
                more_vectors, more_dense, more_bm25 = self._search(more, mode, matching, reranking)
                variants, vectors = variants + more, vectors + more_vectors
                dense, bm25 = dense + more_dense, bm25 + more_bm25
        groups = self._lists("", variants, dense, bm25)
        named = self._named_lists(question, variants, vectors, mode, matching, reranking)
        if named:
            groups = [own + within for own, within in zip(groups, named, strict=True)]
        with stage(tracer, "fusion", {"ragchat.lists": sum(map(len, groups))}) as span:
            weighted = [
                (weight, lists) for (_, weight), lists in zip(variants, groups, strict=True)
            ]
            fused = fuse_phrasings(weighted, self.rrf_k, self.rivals_weight)
            chosen = self._select(fused, wanted)
            span.set_attribute("ragchat.passages", len(chosen))
        if not reranking or self.rerank is None:
            return chosen
        with stage(tracer, "rerank", {"ragchat.passages": len(chosen)}):
            return self.rerank(np.array(vectors), chosen)

    def _search(
        self,
        variants: list[WeightedQuery],
        mode: Mode,
        matching: set[str] | None,
        reranking: bool,
        vectors: list[np.ndarray] | None = None,
    ) -> tuple[list[np.ndarray], list[list[str]], list[list[str]]]:
        """Each phrasing's query vector (when searched densely or reranking; embedded unless
        given), dense hits and keyword hits among `matching` (None: all chunks), ids best
        first; a list is empty for a search the mode leaves out."""
        searched = {"ragchat.queries": len(variants), "ragchat.fetch_k": self.fetch_k}
        vectors = vectors or []
        dense: list[list[str]] = []
        if mode != "bm25" or reranking:  # the query vectors serve the search and the rerank
            with stage(tracer, "dense", searched):
                vectors = vectors or [self._embed(text) for text, _ in variants]
                if mode in ("hybrid", "dense"):
                    dense = [self._dense(vector, matching) for vector in vectors]
        bm25: list[list[str]] = []
        if mode in ("hybrid", "bm25"):
            with stage(tracer, "bm25", searched):
                bm25 = [self._bm25(variant, matching) for variant, _ in variants]
        return vectors, dense, bm25

    def _lists(
        self,
        prefix: str,
        variants: list[WeightedQuery],
        dense: list[list[str]],
        bm25: list[list[str]],
    ) -> list[list[RankedList]]:
        """Each phrasing's ranked lists to fuse, weighted by its scale; `prefix` names the
        retriever in each passage's `ranks` (e.g. "named dense")."""
        groups: list[list[RankedList]] = []
        for number, (_variant, scale) in enumerate(variants):
            group: list[RankedList] = []
            if dense:
                group.append((f"{prefix}dense", scale * self.dense_weight, dense[number]))
            if bm25:
                group.append((f"{prefix}bm25", scale * self.bm25_weight, bm25[number]))
            groups.append(group)
        return groups

    def _named_lists(
        self,
        question: str,
        variants: list[WeightedQuery],
        vectors: list[np.ndarray],
        mode: Mode,
        matching: set[str] | None,
        reranking: bool,
    ) -> list[list[RankedList]]:
        """Each phrasing's searches within the documents the question names (`chains.naming`),
        weighted `named_weight`, with their windows holding the options it asks about (the
        same list for every phrasing): [] when it names none. Their keyword searches leave the
        names out: within a document its name is in almost every window, and would only favour
        the windows that repeat it."""
        if self.names is None or self.named_weight == 0:
            return []
        sources = self.names.named_in(question)
        named = self._named_chunks(sources, matching)
        if not named:
            return []
        names = {document_name(source) for source in sources}
        unnamed = [(without_names(text, names), weight) for text, weight in variants]
        _, dense, bm25 = self._search(unnamed, mode, named, reranking, vectors)
        scaled = [(text, weight * self.named_weight) for text, weight in variants]
        options = self._option_lists(question, named)
        return [group + options for group in self._lists("named ", scaled, dense, bm25)]

    def _named_chunks(self, sources: list[str], matching: set[str] | None) -> set[str]:
        """The chunks of these documents (within the filter's); empty when they are every
        document the search sees."""
        files = self.knowledge_base.manifest.files
        named = {key for source in sources if source in files for key in files[source].chunk_ids}
        if matching is not None:
            named &= matching
        everything = len(matching) if matching is not None else self.knowledge_base.vector_count
        return named if len(named) < everything else set()

    def _option_lists(self, question: str, named: set[str]) -> list[RankedList]:
        """[the named windows holding the entries of the options the question asks about, or
        else mentioning them] (`chains.naming.option_windows`), or []. Only the named
        documents' texts are read: a few dozen chunks, whatever the store's size."""
        options = options_in(question)
        if not options or self.option_weight == 0:
            return []
        by_source: dict[str, list[Window]] = {}
        for key, document in self.knowledge_base.documents_by_id(named).items():
            window = Window(key, document.metadata["start"], document.page_content)
            by_source.setdefault(document.metadata["source"], []).append(window)
        found = [
            key
            for windows in by_source.values()
            for key in option_windows(sorted(windows, key=lambda w: w.start), options)
        ]
        return [("named option", self.option_weight, found)] if found else []

    def _embed(self, query: str) -> np.ndarray:
        """A phrasing's query vector, computed once for dense search and reranking."""
        return np.asarray(self.knowledge_base.embeddings.embed_query(query), dtype=np.float32)

    def _dense(self, vector: np.ndarray, matching: set[str] | None) -> list[str]:
        return self.knowledge_base.search(vector, self.fetch_k, matching)

    def _bm25(self, query: str, matching: set[str] | None) -> list[str]:
        return self.knowledge_base.keyword_search(query, self.fetch_k, matching)

    def _select(
        self, fused: list[tuple[str, float, dict[str, int]]], wanted: int
    ) -> list[Document]:
        """The best `wanted` passages, their texts fetched a few more than needed at a time
        (some may overlap a better one)."""
        chosen: list[Document] = []
        kept = [hit for hit in fused if hit[1] >= self.min_score]
        for begin in range(0, len(kept), 2 * wanted):
            if len(chosen) == wanted:
                break
            window = kept[begin : begin + 2 * wanted]
            stored = self.knowledge_base.documents_by_id(chunk_id for chunk_id, _, _ in window)
            for chunk_id, score, ranks in window:
                document = stored.get(chunk_id)  # None: another replica's save removed it
                if document is None:
                    continue
                if len(chosen) == wanted:
                    break
                if self.dedupe_overlaps and any(_mostly_overlaps(document, c) for c in chosen):
                    continue
                document.metadata.update(score=score, ranks=ranks)
                chosen.append(document)
        return chosen


def _mostly_overlaps(candidate: Document, kept: Document) -> bool:
    """More than half of the shorter chunk is shared (overlapping windows of one file)."""
    a, b = candidate.metadata, kept.metadata
    if a["source"] != b["source"]:
        return False
    shared = min(a["end"], b["end"]) - max(a["start"], b["start"])
    return shared > 0.5 * min(a["end"] - a["start"], b["end"] - b["start"])


def build_retriever(
    knowledge_base: KnowledgeBase,
    settings: RetrievalSettings,
    expand_query: Callable[[str, TranslateQuery | None], list[WeightedQuery]] | None = None,
) -> HybridRetriever:
    """The retriever the configuration describes (the settings it shares with it). An
    `expand_query` that also takes a second look (`SecondLook`) is asked again after the first
    search."""
    shared = {k: v for k, v in settings.model_dump().items() if k in HybridRetriever.model_fields}
    rerank = None
    expand_after = expand_query.after_search if isinstance(expand_query, SecondLook) else None
    if settings.rerank_top > 1:
        embeddings = knowledge_base.embeddings
        similarity = SentenceSimilarity(
            embeddings,
            settings.close_similarity,
            knowledge_base.sentence_vectors_of,
            sentence_unit_limit(knowledge_base.identity.dimension),
        )
        rerank = SentenceReranker(similarity, settings.rerank_top)
    return HybridRetriever(
        knowledge_base=knowledge_base,
        names=DocumentNames(lambda: knowledge_base.manifest.files),
        expand_query=expand_query,
        expand_after=expand_after,
        rerank=rerank,
        **shared,
    )
