"""Everything a question needs, built once from the settings: the faces (ask.py, app.py) call
`open_knowledge_base` and `build_answerer` and keep the results."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from chains.expansion import QueryTranslator, document_languages
from chains.language import REFUSALS
from chains.rag import PROMPT_OVERHEAD_TOKENS, build_rag_chain
from chains.retrieval import HybridRetriever, build_retriever
from config import Settings
from index.embeddings import build_embedder
from index.store import KnowledgeBase, load_index
from llms import (
    LLMError,
    answer_call_options,
    build_chat_model,
    build_helper_model,
    token_counter,
)

QUESTION_RESERVE_TOKENS = 200


@dataclass
class Answerer:
    retriever: HybridRetriever
    llm: BaseChatModel
    """Writes the answers."""
    helper: BaseChatModel
    """Rewrites follow-up questions and translates questions (may be `llm` itself)."""
    chain: Runnable


def open_knowledge_base(settings: Settings) -> KnowledgeBase:
    """The index for the configured embedder (IndexStoreError says how to build it)."""
    return load_index(settings.paths.index, build_embedder(settings.embedding))


def build_answerer(
    settings: Settings, knowledge_base: KnowledgeBase, profile: str | None = None
) -> Answerer:
    """Retriever + chat model of `profile` (default: the configured one) + the RAG chain."""
    name = profile or settings.llm.profile
    if name not in settings.llm.profiles:
        available = ", ".join(settings.llm.profiles)
        raise LLMError(f"no llm profile named {name!r}; available: {available}")
    active = settings.llm.profiles[name]
    llm = build_chat_model(active)
    helper = build_helper_model(active, llm)
    translate = None
    if settings.retrieval.translate_query != "off":
        languages = document_languages(d.page_content for d in knowledge_base.documents())
        translate = QueryTranslator(
            helper,
            languages,
            settings.retrieval.original_query_weight,
            only_foreign=settings.retrieval.translate_query == "auto",
        )
    retriever = build_retriever(knowledge_base, settings.retrieval, translate)
    window_left = (
        active.n_ctx - active.max_tokens - PROMPT_OVERHEAD_TOKENS - QUESTION_RESERVE_TOKENS
    )
    budget = max(64, min(settings.retrieval.context_tokens, window_left))
    options = answer_call_options(active, llm, list(REFUSALS.values()))
    chain = build_rag_chain(retriever, llm, token_counter(llm), budget, helper, options)
    return Answerer(retriever, llm, helper, chain)
