"""Heavy objects built once per process and shared by all sessions (`st.cache_resource`).

Each is keyed by what it depends on: the embedder by its settings, the knowledge base by the
index version on disk (a new ingest switches CURRENT, so the next question sees it), the
answerer by the knowledge base and the chat/retrieval settings chosen in the sidebar.
"""

from __future__ import annotations

import streamlit as st

from chains.assistant import Answerer, build_answerer
from chains.retrieval import build_retriever
from config import Settings
from index.embeddings import Embedder, build_embedder
from index.store import KnowledgeBase, current_version, load_index


@st.cache_resource(show_spinner="Loading the embedding model…")
def embedder(key: str, _settings: Settings) -> Embedder:
    return build_embedder(_settings.embedding)


def knowledge_base(settings: Settings) -> KnowledgeBase | None:
    """The live index, or None before the first ingest."""
    version = current_version(settings.paths.index)
    if version is None:
        return None
    return _knowledge_base(str(version), settings)


@st.cache_resource(show_spinner="Opening the index…", max_entries=2)
def _knowledge_base(version: str, _settings: Settings) -> KnowledgeBase:
    return load_index(_settings.paths.index, cached_embedder(_settings))


@st.cache_resource(show_spinner="Loading the chat model…", max_entries=4)
def answerer(
    key: str, _settings: Settings, _knowledge_base: KnowledgeBase, profile: str
) -> Answerer:
    return build_answerer(_settings, _knowledge_base, profile)


def answerer_for(settings: Settings, knowledge_base: KnowledgeBase, profile: str) -> Answerer:
    version = current_version(settings.paths.index)
    choices = f"{settings.llm.model_dump_json()}|{settings.retrieval.model_dump_json()}"
    key = f"{version}|{profile}|{choices}"
    return answerer(key, settings, knowledge_base, profile)


def retrieval_only(settings: Settings, knowledge_base: KnowledgeBase, question: str) -> list:
    """Passages for a question when no chat model can answer it."""
    return build_retriever(knowledge_base, settings.retrieval).invoke(question)


def cached_embedder(settings: Settings) -> Embedder:
    return embedder(settings.embedding.model_dump_json(), settings)
