"""A chunk as every store keeps it (`ChunkRecord`), and the compact encoding of its sentence
vectors, sized so that a record fits the smallest store's limits."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from typing import NotRequired

import numpy as np
from langchain_core.documents import Document
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from text.language import main_language
from text.sentences import MAX_SENTENCE_UNITS

log = logging.getLogger(__name__)


@with_config(ConfigDict(extra="allow"))
class ChunkMetadata(TypedDict):
    """What every chunk's metadata must hold (the loaders add page, start, end, ...)."""

    source: str
    hash: str


class ChunkRecord(TypedDict):
    """One chunk as a store keeps it: with its BM25 term counts, so that keyword search needs
    nothing else."""

    id: str
    text: str
    metadata: ChunkMetadata
    terms: dict[str, int]
    sentences: NotRequired[str | bytes]
    """The vectors of its sentence units (`encode_sentence_vectors`): base64 text where the
    store keeps them as text (Milvus), the bytes themselves where it keeps them raw (FAISS:
    handed over without encoding them again); absent in indexes from before they were kept."""


def record_of(
    document: Document, terms: dict[str, int], sentence_vectors: bytes | None = None
) -> ChunkRecord:
    record: ChunkRecord = {
        "id": str(document.id),
        "text": document.page_content,
        "metadata": document.metadata,  # type: ignore[typeddict-item]
        "terms": terms,
    }
    if sentence_vectors is not None:
        record["sentences"] = base64.b64encode(sentence_vectors).decode("ascii")
    return record


def chunk_language(metadata: Mapping, text: str) -> str:
    """The language a chunk was given at ingest (chunks of indexes older than that: measured
    now)."""
    return metadata.get("language") or main_language(text)


SENTENCE_VECTOR_BYTES = 36_000
"""The most bytes of sentence vectors a chunk keeps: base64 and the chunk's other metadata
stay within a Milvus JSON field (64 KiB)."""


def sentence_unit_limit(dimension: int) -> int:
    """The most sentence units (`text.sentences.sentence_units`) a chunk of an embedder of
    this dimension keeps a vector for: 23 at 768 dimensions, 32 (`MAX_SENTENCE_UNITS`) below."""
    return max(1, min(MAX_SENTENCE_UNITS, SENTENCE_VECTOR_BYTES // (2 * dimension)))


def encode_sentence_vectors(vectors: np.ndarray) -> bytes:
    """A chunk's sentence vectors (unit rows) as float16: half of float32's size, and reranking
    by them orders passages as float32 does (int8 swapped near-ties: errors of 6e-4)."""
    return np.asarray(vectors, dtype="<f2").tobytes()


def decode_sentence_vectors(data: bytes, dimension: int) -> np.ndarray:
    """The float32 rows `encode_sentence_vectors` encoded; ValueError when `data` is not
    that."""
    if not data or len(data) % (2 * dimension):
        raise ValueError(f"{len(data)} bytes are not rows of {dimension} float16 numbers")
    return np.frombuffer(data, dtype="<f2").reshape(-1, dimension).astype(np.float32)


def readable_sentence_vectors(chunk_id: str, encoded: str | bytes, dimension: int) -> bytes | None:
    """A record's sentence vectors (base64 text, or the bytes), or None (with a warning) when
    they do not decode: they are a cache of what the chunk's text gives, embedded again when
    needed."""
    try:
        data = encoded if isinstance(encoded, bytes) else base64.b64decode(encoded, validate=True)
        decode_sentence_vectors(data, dimension)
    except (binascii.Error, ValueError) as err:
        log.warning("chunk %s: sentence vectors unreadable (%s), left out", chunk_id, err)
        return None
    return data
