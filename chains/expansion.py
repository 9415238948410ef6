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
from collections import OrderedDict
from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry import trace

from chains.retrieval import WeightedQuery
from config import TranslateQuery
from observability.stages import current, stage
from text.language import question_language

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

TRANSLATE_PROMPT = {
    "zh": "Translate this English text into Chinese. Output only the Chinese translation.\n\n"
    "English: {question}",
    "en": "把下面的中文翻译成英文，只输出英文译文。\n\n中文：{question}",
}
"""Keyed by the language translated into. The instruction sits in the user turn, right before
the text: with it in a system prompt, the small local model answers the question instead."""

_EXAMPLE_QUESTIONS = [
    ("What does the Transformer use instead of recurrence?", "Transformer 用什么取代了循环结构？"),
    ("How many layers does the encoder have?", "编码器有多少层？"),
]
TRANSLATE_EXAMPLES = {
    "zh": _EXAMPLE_QUESTIONS,
    "en": [(chinese, english) for english, chinese in _EXAMPLE_QUESTIONS],
}
"""(text, translation) by the language translated into: worked translations of questions into
questions. Without them the 0.5B model often turned a question into a statement, or answered it
("GPT-3 has 4 parameters."); with them, Chinese questions over python3-doc found their page in
the first 5 for 0.750 of the tune split instead of 0.583 (docs/quality.md)."""


MIXED = {"zh": 0.5, "en": 0.5}
"""Language shares of notes written half in each language."""


class QueryTranslator:
    """`HybridRetriever.expand_query`: (question, policy of the call) -> [(question, weight),
    (translation, 1)].

    `language_shares` is the knowledge base's share of chunks per language (`zh`, `en`),
    counted at ingest. A language holds a substantial part of the notes at `substantial` of
    them: `auto` translates a question into every other such language, so Chinese questions
    over a Chinese manual that keeps whole sections in English search those too; `always`
    into any other language the notes use at all. `per_question` decides as `auto` does, but
    a question whose own language is substantial too is first searched as asked, and
    translated only when that search did not find its window (`after_search`): on a manual
    that mixes the languages, the translation finds English passages for English questions
    but pulls Chinese questions away from the Chinese passages that answer them."""

    def __init__(
        self,
        llm: BaseChatModel,
        language_shares: Mapping[str, float] = MIXED,
        original_weight: float = 0.5,
        cache_size: int = 512,
        policy: TranslateQuery = "always",
        substantial: float = 0.2,
    ) -> None:
        self.language_shares = dict(language_shares)
        self.substantial = substantial
        self.original_weight = original_weight
        self.policy = policy
        """When to translate unless a call says otherwise (`retrieval.translate_query`)."""
        self._chains = {
            language: ChatPromptTemplate.from_messages(
                [
                    message
                    for text, translation in TRANSLATE_EXAMPLES[language]
                    for message in (
                        ("human", prompt.replace("{question}", text)),
                        ("ai", translation),
                    )
                ]
                + [("human", prompt)]
            )
            | llm.bind(max_tokens=80, stop=["\n"])
            | StrOutputParser()
            for language, prompt in TRANSLATE_PROMPT.items()
        }
        self.asked = 0
        """Translations asked of the model so far (not from the cache): what a policy costs."""
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()  # requests to remote profiles run side by side

    def __call__(self, question: str, policy: TranslateQuery | None = None) -> list[WeightedQuery]:
        """The question and its translation, if `policy` (default: this translator's) calls for
        one. When the question's own language holds less than `substantial` of the notes, its
        translation leads and the question counts `original_weight`: the answer most likely
        lies in the other language (docs/quality.md)."""
        policy = policy or self.policy
        asked = self._substantial(question_language(question))
        if policy == "per_question" and asked:
            return [(question, 1.0)]  # translated, or not, once it was searched: after_search
        translations = self.translations(question, policy)
        own = 1.0 if asked or not translations else self.original_weight
        return [(question, own)] + [(text, 1.0) for text in translations]

    def after_search(
        self, question: str, policy: TranslateQuery | None, found: bool
    ) -> list[WeightedQuery]:
        """`per_question`, for a question whose own language is substantial: [its translation]
        unless the search for the question as asked `found` its window
        (`chains.retrieval.searches_agree`); [] for every other policy, which decide before
        the search."""
        if (policy or self.policy) != "per_question" or found:
            return []
        if not self._substantial(question_language(question)):
            return []  # translated before the search
        return [(text, 1.0) for text in self.translations(question, "per_question")]

    def _substantial(self, language: str) -> bool:
        return self.language_shares.get(language, 0.0) >= self.substantial

    def translations(self, question: str, policy: TranslateQuery = "always") -> list[str]:
        """[the translation] into the documents' other language, cached; [] when `policy`
        says not to, the notes hold too little of that language (see the class), or the
        model failed."""
        target = "zh" if question_language(question) == "en" else "en"
        share = self.language_shares.get(target, 0.0)
        needed = {
            "off": float("inf"),
            "auto": self.substantial,
            "per_question": self.substantial,
            "always": 1e-9,
        }[policy]
        if share < needed:
            return []
        with stage(tracer, "translate", {"ragchat.language": target}) as span:
            found = self._translated(question, target)
            span.set_attribute("ragchat.translations", len(found))
            current().content(span, "ragchat.translation", " ".join(found))
        return found

    def _translated(self, question: str, target: str) -> list[str]:
        """`translations` past the policy: from the cache, or asked of the model."""
        with self._cache_lock:
            if question in self._cache:
                self._cache.move_to_end(question)
                return self._cache[question]
        self.asked += 1
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
