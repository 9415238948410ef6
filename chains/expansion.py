"""Cross-lingual query expansion: the chat model translates the question into the other
language (Chinese <-> English), and both are searched and fused.

Measured on the seeds: an English question about Chinese notes shares no words with them, and
the multilingual embedder alone finds its passage in the top 5 only about half the time; the
translation gives BM25 and the embedder a same-language query. Results are cached per question,
and any failure of the model (not installed, server down) just means no extra variant.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from chains.rag import question_language

log = logging.getLogger(__name__)

TRANSLATE_PROMPT = {
    "zh": "Translate this English text into Chinese. Output only the Chinese translation.\n\n"
    "English: {question}",
    "en": "把下面的中文翻译成英文，只输出英文译文。\n\n中文：{question}",
}
"""Keyed by the language translated into. The instruction sits in the user turn, right before
the text: with it in a system prompt, the small local model answers the question instead."""


class QueryTranslator:
    """Callable for `HybridRetriever.expand_query`: question -> [translation] (or [])."""

    def __init__(self, llm: BaseChatModel, cache_size: int = 512) -> None:
        self._chains = {
            language: ChatPromptTemplate.from_messages([("human", prompt)])
            | llm.bind(max_tokens=80, stop=["\n"])
            | StrOutputParser()
            for language, prompt in TRANSLATE_PROMPT.items()
        }
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._cache_size = cache_size

    def __call__(self, question: str) -> list[str]:
        if question in self._cache:
            self._cache.move_to_end(question)
            return self._cache[question]
        target = "zh" if question_language(question) == "en" else "en"
        try:
            translation = self._chains[target].invoke({"question": question}).strip()
        except Exception as err:  # any model failure: search with the question alone
            log.warning("query translation failed, searching without it: %s", err)
            return []
        variants = [translation] if translation and translation != question else []
        self._cache[question] = variants
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return variants
