"""Cross-lingual query expansion: the chat model translates the question into the other
language (Chinese <-> English) when the documents use it, and both are searched and fused.

Measured on the seeds: an English question about Chinese notes shares no words with them, and
the multilingual embedder alone finds its passage in the top 5 only about half the time; the
translation gives BM25 and the embedder a same-language query. Results are cached per question,
and any failure of the model (not installed, server down) just means no extra variant.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from chains.language import main_language, question_language
from chains.retrieval import WeightedQuery
from config import TranslateQuery

log = logging.getLogger(__name__)

TRANSLATE_PROMPT = {
    "zh": "Translate this English text into Chinese. Output only the Chinese translation.\n\n"
    "English: {question}",
    "en": "把下面的中文翻译成英文，只输出英文译文。\n\n中文：{question}",
}
"""Keyed by the language translated into. The instruction sits in the user turn, right before
the text: with it in a system prompt, the small local model answers the question instead."""


def document_languages(texts: Iterable[str], share: float = 0.2) -> frozenset[str]:
    """The languages (`zh`, `en`) that at least `share` of the chunks are written in: a
    question is translated only into a language the documents use."""
    counts = Counter(main_language(text) for text in texts)
    total = sum(counts.values()) or 1
    return frozenset(language for language, n in counts.items() if n / total >= share)


class QueryTranslator:
    """`HybridRetriever.expand_query`: (question, policy of the call) -> [(question, weight),
    (translation, 1)]."""

    def __init__(
        self,
        llm: BaseChatModel,
        document_languages: frozenset[str] = frozenset({"zh", "en"}),
        original_weight: float = 0.5,
        cache_size: int = 512,
        policy: TranslateQuery = "always",
    ) -> None:
        self.document_languages = document_languages
        self.original_weight = original_weight
        self.policy = policy
        """When to translate unless a call says otherwise (`retrieval.translate_query`)."""
        self._chains = {
            language: ChatPromptTemplate.from_messages([("human", prompt)])
            | llm.bind(max_tokens=80, stop=["\n"])
            | StrOutputParser()
            for language, prompt in TRANSLATE_PROMPT.items()
        }
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()  # requests to remote profiles run side by side

    def __call__(self, question: str, policy: TranslateQuery | None = None) -> list[WeightedQuery]:
        """The question and its translation, if `policy` (default: this translator's) calls for
        one. When the documents do not use the question's own language, its translation leads
        and the question counts less."""
        translations = self.translations(question, policy or self.policy)
        asked = question_language(question) in self.document_languages
        own = 1.0 if asked or not translations else self.original_weight
        return [(question, own)] + [(text, 1.0) for text in translations]

    def translations(self, question: str, policy: TranslateQuery = "always") -> list[str]:
        """[the translation] into the documents' other language, cached; [] when there is
        nothing to translate into, `policy` says not to, or the model failed."""
        asked = question_language(question)
        target = "zh" if asked == "en" else "en"
        if policy == "off" or target not in self.document_languages:
            return []  # the question is already in the documents' language
        if policy == "auto" and asked in self.document_languages:
            return []  # the documents use both languages: search the question as asked
        with self._cache_lock:
            if question in self._cache:
                self._cache.move_to_end(question)
                return self._cache[question]
        try:
            translation = self._chains[target].invoke({"question": question}).strip()
        except Exception as err:  # any model failure: search with the question alone
            log.warning("query translation failed, searching without it: %s", err)
            return []
        found = [translation] if translation and translation != question else []
        with self._cache_lock:
            self._cache[question] = found
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found
