"""What an answer sentence claims, and whether a passage states it: its key terms.

Sharing words with a passage is not saying what it says. A small model asked what no note
answers writes a sentence on the topic anyway: 「PPO 算法全称是 Policy Optimization with
Predictive Control」 shares "PPO" and 算法 with a passage that never spells PPO out, and 「GPT-3的
训练成本约为1750亿个参数」 shares GPT-3, its number and 参数 with a passage about its size, not its
cost. So a passage supports a sentence only if it states each of the sentence's key terms
(`missing_terms`):

- the named things and technical terms in Latin script (GPT-3, Google, word2vec, perplexity):
  every Latin word of a sentence written mostly in Chinese, and the names (capitalised or with
  digits) of one written in English, where common English words are left to the embedder;
- the nouns of a Chinese sentence (jieba's part-of-speech tags), except the common ones any
  sentence may use (时间, 过程, 方法: jieba's frequency above `COMMON_WORD_FREQUENCY`), checked
  only against a passage that has Chinese in it: a term cannot be looked up verbatim in a text
  of another language (there the embedder's similarity decides, as before).

Numbers are checked by value elsewhere (`chains.quantities`). A sentence is also judged against
the question it answers (`off_question`): a fragment ("14,000亿 tokens") claims what the question
names (Llama 2), a sentence naming nothing beyond the question's own terms answers nothing, and
a question asking how many or how much is not answered by a sentence without a number.
"""

from __future__ import annotations

import re
from functools import cache

import jieba
import jieba.posseg

from errors import Message
from i18n import N_
from index.bm25 import STOP_WORDS
from text.language import main_language, question_language
from text.normalize import normalize_text

COMMON_WORD_FREQUENCY = 10_000
"""A Chinese noun more frequent than this in jieba's dictionary (时间 33,288, 过程 18,051, 方法
18,045; 成本 4,289, 参数 1,670 stay terms) is common: an answer may use it in its own words."""
_NOUN_TAGS = ("n", "nr", "ns", "nt", "nz", "nw", "vn")
_LATIN_TERM = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
_NAME = re.compile(r"\b(?:[A-Z][A-Za-z0-9]*|[a-z]+\d[A-Za-z0-9]*)(?:[- ]?\d+(?:\.\d+)?\b)?")
"""A name in English text: a capitalised word or one with digits (word2vec), with the version
number that may follow it ("Llama 2", "GPT-4")."""
_SQUEEZE = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_WH_QUESTION = re.compile(
    r"谁|什么|哪|何|怎么|怎样|如何|为什么|多少|几|\b(?:who|what|which|when|where|why|how)\b", re.I
)
_QUANTITY_QUESTION = re.compile(
    r"多少|(?<!哪)几[个种层次年月天位名项步条]|多[长大久高重远快]"
    r"|\bhow (?:many|much|long|large|big|old|fast|far)\b"
    r"|\bwhat (?:percentage|proportion|fraction|number)\b",
    re.I,
)
_QUANTITY = re.compile(
    r"(?<![A-Za-z\d-])\d|[一二两三四五六七八九十百千万亿]{2,}"
    r"|[一二两三四五六七八九十百千万亿数几][个种层次年月天位名项步条倍度米元克升比周岁分秒时小毫公本块件张]"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|"
    r"millions?|billions?)\b",
    re.I,
)
"""A stated quantity: digits not part of a name (GPT-3's 3 is not one), Chinese numerals of two
characters or more (二十四, 十五) or one with its measure word (三个, 六小时, 数百亿; not 一般 or
一些), an English number word."""
_FRAGMENT_UNITS = 4
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+")


def key_terms(sentence: str) -> list[str]:
    """The sentence's key terms (see module), in order, each once."""
    text = normalize_text(sentence)
    terms: dict[str, None] = {}
    if main_language(text) == "zh":
        for word in _LATIN_TERM.findall(text):
            if len(word) > 1 and word.lower() not in STOP_WORDS:
                terms[word] = None
        for pair in jieba.posseg.lcut(text):
            if _is_key_noun(pair.word, pair.flag):
                terms[pair.word] = None
    else:
        terms.update(dict.fromkeys(_english_names(text)))
    return list(terms)


def missing_terms(sentence: str, passage: str, question: str = "") -> list[str]:
    """The sentence's key terms that neither the passage states nor the question asks about
    (none: the passage may support it). A term of the question is the sentence restating
    what was asked, often in the question's language ("hidden layer" in a Chinese answer to an
    English question): what the passage must state is what the sentence adds."""
    squeezed, asked = squeeze(passage), squeeze(question)
    asked_words = {_stem(word) for word in _WORD.findall(normalize_text(question).lower())}
    has_chinese = bool(re.search(r"[\u4e00-\u9fff]", passage))
    return [
        term
        for term in key_terms(sentence)
        if squeeze(term) not in asked
        and _stem(term.lower()) not in asked_words
        and not _stated(term, squeezed, has_chinese)
    ]


def off_question(sentence: str, question: str, passage: str, units: int) -> Message | None:
    """Why `sentence` (the answer's main claim, `units` of content) does not answer `question`
    from `passage`, or None when nothing says so (see module)."""
    if _QUANTITY_QUESTION.search(question) and not _QUANTITY.search(normalize_text(sentence)):
        return Message(N_("the question asks for a quantity; the sentence states none"))
    if units < _FRAGMENT_UNITS:
        squeezed = squeeze(passage)
        unstated = [n for n in _question_names(question) if squeeze(n) not in squeezed]
        if unstated:
            return Message(N_("its passage does not name {names}"), names=", ".join(unstated))
    if (
        _WH_QUESTION.search(question)
        and main_language(sentence) != question_language(question)
        and not _QUANTITY.search(normalize_text(sentence))
    ):
        terms = [squeeze(term) for term in key_terms(sentence)]
        asked = squeeze(question)
        if terms and all(term in asked for term in terms):
            return Message(N_("it names nothing the question does not"))
    return None


def content_units(text: str) -> set[str]:
    """What two texts must share to count as the same content: character bigrams of Chinese
    runs, and content words (not stop words) of Latin text."""
    units: set[str] = set()
    for run in _CJK_RUN.findall(normalize_text(text)):
        units.update(run[i : i + 2] for i in range(len(run) - 1))
    words = _WORD.findall(normalize_text(text).lower())
    units.update(w for w in words if len(w) > 2 and w not in STOP_WORDS)
    return units


def squeeze(text: str) -> str:
    """Lowercase letters, digits and Chinese characters only: "GPT-3" and "gpt3" compare equal,
    and so do "Llama 2" and "llama2"."""
    return _SQUEEZE.sub("", normalize_text(text).lower())


def _stated(term: str, squeezed_passage: str, has_chinese: bool) -> bool:
    key = squeeze(term)
    if key in squeezed_passage:
        return True
    if re.search(r"[\u4e00-\u9fff]", term):
        if not has_chinese:
            return True  # across languages: not decidable verbatim (see module)
        parts = [p for p in jieba.lcut(term, HMM=False) if len(p) > 1]
        if len(parts) > 1 and all(part in squeezed_passage for part in parts):
            return True
        return _abbreviated(key, squeezed_passage)
    return False


def _stem(word: str) -> str:
    """An English word without its inflection ("receives" and "receive" compare equal)."""
    return re.sub(r"(?<=\w{3})e$", "", re.sub(r"(?<=\w{3})(?:ing|ed|s)$", "", word))


def _abbreviated(term: str, passage: str) -> bool:
    """Whether the passage holds the term's characters in order, a character or two apart at
    most: 词表 in 词汇表, 预训练 in 预先训练 (Chinese shortens words by dropping characters)."""
    gaps = "".join(f"{re.escape(char)}.{{0,2}}" for char in term[:-1]) + re.escape(term[-1])
    return re.search(gaps, passage) is not None


def _is_key_noun(word: str, flag: str) -> bool:
    return (
        flag in _NOUN_TAGS
        and len(word) > 1
        and bool(re.fullmatch(r"[\u4e00-\u9fff]+", word))
        and _frequency(word) <= COMMON_WORD_FREQUENCY
    )


@cache
def _frequency(word: str) -> int:
    return jieba.get_FREQ(word) or 0


def _question_names(question: str) -> list[str]:
    """The names a question asks about in Latin script (Llama 2, GPT-3, word2vec)."""
    return _english_names(normalize_text(question))


def _english_names(text: str) -> list[str]:
    """Names in English text (see `_NAME`), but not a plain word capitalised only because it
    opens a sentence ("The", "Autoregressive")."""
    names: dict[str, None] = {}
    for match in _NAME.finditer(text):
        word = match.group()
        plain = word.isalpha() and word[1:].islower()
        if plain and re.search(r"(?:^|[.!?]\s+)$", text[: match.start()]):
            continue
        if word.lower() not in STOP_WORDS:
            names[word] = None
    return list(names)
