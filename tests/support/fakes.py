"""Stand-ins for the real models, so the wiring around them is checked in milliseconds: chat
models from LangChain's fakes (`GenericFakeChatModel`), and an embedder that compares texts by
the characters they share. The real models go through the same seams in the heavy tests."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from index.embeddings import Embedder, EmbedderIdentity
from llms import ChatModels, estimate_tokens

DIMENSION = 256


class RecordingChatModel(GenericFakeChatModel):
    """LangChain's fake chat model, keeping the messages of every call in `prompts`."""

    prompts: list = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(messages)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def fake_models(
    replies: list[str], exclusive: bool = True, temperatures: list | None = None
) -> ChatModels:
    """Chat models that reply with `replies` in turn (a `RecordingChatModel`: the prompts are
    in `.llm.prompts`); each answer's temperature is appended to `temperatures`."""

    def endless() -> Iterator[AIMessage]:
        while True:
            yield from (AIMessage(reply) for reply in replies)

    llm = RecordingChatModel(messages=endless())

    def options(temperature: float | None) -> dict:
        (temperatures if temperatures is not None else []).append(temperature)
        return {}

    return ChatModels(llm, llm, exclusive, estimate_tokens, options)


class CharacterEmbeddings(Embeddings):
    """Counts of a text's characters and character pairs, hashed into `DIMENSION` buckets and
    normalized: texts that share words are close, as with a real embedder, without a model."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        text = text.lower()
        vector = np.zeros(DIMENSION)
        for gram in [*text, *(text[i : i + 2] for i in range(len(text) - 1))]:
            vector[zlib.crc32(gram.encode()) % DIMENSION] += 1
        norm = np.linalg.norm(vector)
        return (vector / norm if norm else vector).tolist()


def fake_embedder() -> Embedder:
    """`CharacterEmbeddings` as an index's embedder (its own identity, characters as tokens)."""
    identity = EmbedderIdentity("fake", "character-pairs", DIMENSION, normalized=True)
    return Embedder(CharacterEmbeddings(), identity, len)
