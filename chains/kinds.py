"""What kind of question it is: a lookup (one fact in one window), the summary of one document,
an overview of the knowledge base, a comparison of two or more things, or a list ("all the …
mentioned"). Each kind is answered differently (`chains.gathering`, `chains.rag`).

Cue words decide first, in Chinese and English: they are free and right for most questions.
Only when they are unsure (no cue of a kind, but words that often open one, or cues of two
kinds at once) is the helper model asked, with worked examples; without a model, or when its
reply names no kind, the rules' best guess stands.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

log = logging.getLogger(__name__)

Kind = Literal["lookup", "summary", "overview", "comparison", "list"]
KINDS: tuple[Kind, ...] = get_args(Kind)


def _cues(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.IGNORECASE)


_COLLECTION = (
    r"(这些|所有|全部|整个|我的|各篇|几篇)(的)?(笔记|文档|资料|文章|文件|材料)|知识库|资料库"
    r"|\b(these|the|my|all (the|my)?|whole)\s*(notes|documents|docs|files|materials|knowledge base)"
    r"|\bknowledge base\b"
)
CUES: dict[Kind, re.Pattern[str]] = {
    "comparison": _cues(
        r"比较|对比|区别|不同之处|有何不同|有什么不同|异同|差异|相比|优缺点|优劣|哪个(更|好)",
        r"\bcompare\b(?! with)|\bcomparison (of|between)\b|\bdiffer|\bdifferences?\b",
        r"\bvs\.?(?=\s)|\bversus\b",
        r"pros and cons|advantages and disadvantages|strengths and weaknesses",
    ),
    "list": _cues(
        r"列出|列举|罗列|一一|全部列|都有(哪些|什么)|有哪几(种|类)|哪几种|所有的?.{0,8}(方法|模型|步骤)",
        r"^\s*(please\s+)?list\b|\blist (all|every|the)\b|\benumerate\b|\bname (all|every)\b",
        r"\ball the .{0,40}\b(mentioned|named|listed|described)\b",
        r"\bwhat (kinds|types) of\b|\bwhich .* (are|were) (mentioned|described|named)",
    ),
    "overview": _cues(
        r"(讲|说|写|介绍|涉及|包含|覆盖|谈)了?(哪些|什么|些什么)(内容|主题|话题)?",
        r"概述|概览|概况|总览|综述|主要内容|哪些主题|什么主题",
        r"\boverview\b|\btopics?\b|\bcover(s|ed)?\b|\b(is|are) .* about\b|\bgist\b",
    ),
    "summary": _cues(
        r"总结|概括|摘要|归纳|梗概|大意|要点",
        r"\bsummar(y|ize|ise|ies)\b|\bsum up\b|\bmain points\b|\bkey points\b|\btl;?dr\b",
    ),
}
"""Cue words per kind. A cue of `summary` or `overview` over the whole collection is an
overview; `list` cues that also name the collection ("all the notes") are an overview only
with an overview cue."""
COLLECTION = _cues(_COLLECTION)
"""Words naming the notes as a whole: "summarize these notes" is an overview."""
ONE_DOCUMENT = _cues(
    r"(这|那|该)(一)?(份|篇|个|章)|《",
    r"\b(the|this|that) (note|document|page|chapter|slides|lecture|file)\b",
)
"""Words naming one document: "summarize the note on X" is a summary."""
WEAK = _cues(r"哪些|主要|分别|各自", r"\bwhat are\b|\bmain\b|\beach\b|\bboth\b")
"""Words that often open a question beyond one passage, but as often a lookup: without a
kind's cue, the rules are unsure."""


@dataclass(frozen=True)
class Routed:
    """A question's kind, and whether the rules were sure of it (otherwise the helper model
    decided, when there is one)."""

    kind: Kind
    sure: bool
    by_model: bool = False


def route_by_rules(question: str) -> Routed:
    """The kind the cue words give; `sure` unless they are missing where a weak cue is, or
    point two ways that the precedence below cannot settle."""
    matched = {kind for kind, pattern in CUES.items() if pattern.search(question)}
    whole = bool(COLLECTION.search(question))
    if "comparison" in matched:
        return Routed("comparison", sure=not {"list"} & matched or _names_two(question))
    if {"summary", "overview"} & matched:
        one = bool(ONE_DOCUMENT.search(question)) and not whole
        kind: Kind = "overview" if whole or ("overview" in matched and not one) else "summary"
        return Routed(kind, sure=not ("list" in matched and not whole))
    if "list" in matched:
        return Routed("list", sure=True)
    return Routed("lookup", sure=not WEAK.search(question))


_TWO = _cues(r"和|与|跟|以及|还是|及", r"\band\b|\bor\b|\bwith\b|\bfrom\b|\bvs\b|\bversus\b")


def _names_two(question: str) -> bool:
    return bool(_TWO.search(question))


ROUTE_PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "Classify the question about the user's notes as one word: lookup (one fact), "
            "summary (of one document), overview (of all the notes), comparison (of two or "
            "more things), list (all the items of a kind).",
        ),
        ("human", "What year was the Transformer introduced?"),
        ("ai", "lookup"),
        ("human", "这篇讲语言模型的笔记主要讲了什么？"),
        ("ai", "summary"),
        ("human", "What are these notes about?"),
        ("ai", "overview"),
        ("human", "GPT和BERT有什么不一样？"),
        ("ai", "comparison"),
        ("human", "笔记里提到了哪些预训练任务？"),
        ("ai", "list"),
        ("human", "{question}"),
    ]
)
"""Worked examples, one per kind and both languages: a 0.5B model follows them far better
than the instruction alone."""


class QuestionRouter:
    """(question) -> `Routed`: the rules, then the helper model when they are unsure."""

    def __init__(self, helper: BaseChatModel | None = None) -> None:
        self._ask: Callable[[dict], str] | None = None
        if helper is not None:
            chain = ROUTE_PROMPT | helper.bind(max_tokens=4, stop=["\n"]) | StrOutputParser()
            self._ask = chain.invoke

    def __call__(self, question: str) -> Routed:
        routed = route_by_rules(question)
        if routed.sure or self._ask is None:
            return routed
        try:
            reply = self._ask({"question": question}).strip().lower()
        except Exception as err:  # any model failure: the rules' guess stands
            log.warning("question routing by the model failed, using the rules: %s", err)
            return routed
        named = [kind for kind in KINDS if reply.startswith(kind)]
        return Routed(named[0], sure=False, by_model=True) if named else routed


_COMPARE_FRAME = _cues(
    r"^(请|帮我)?(比较|对比)(一下)?",
    r"(之间)?(有)?(什么|哪些|何)?(的)?(区别|不同|差异|异同|优缺点|优劣)(是什么|有哪些)?[？?。.]*$",
    r"^(please\s+)?(compare|contrast)\s+",
    r"^(what|where) (is|are) the (main |key )?(differences?|distinctions?) between\s+",
    r"^how (does|do|is|are)\s+",
    r"^what (is|are) the\s+|^of\s+",
    r"[?？.]+$",
)
_SPLIT_THINGS = re.compile(
    r"\s*(?:和|与|跟|以及|及|还是|、|相比|\bvs\.?|\bversus\b|\band\b|\bor\b|,"
    r"|\bdiffers? from\b|\bcompared? (?:to|with)\b|\bwith\b)\s*",
    re.IGNORECASE,
)
_DIFFERENCE = re.compile(r"(的)?(区别|不同|差异|异同)")
_ASPECT = re.compile(
    r"(的)?(优缺点|优劣|好处和坏处)|\b(pros and cons|advantages and disadvantages)\b"
)
"""An aspect asked of each thing, kept in its sub-question."""


def compared_things(question: str) -> list[str]:
    """The things a comparison names, in order ("比较A和B的优缺点" -> [A, B]); [] when it
    names fewer than two."""
    core = _ASPECT.sub("", question.strip()).strip()
    for _ in range(3):  # a frame may hold another ("请比较一下…有什么区别？")
        core = _COMPARE_FRAME.sub("", core).strip()
    core = re.sub(r"的$", "", core)
    things = [t.strip(" 的，,。?？") for t in _SPLIT_THINGS.split(core) if t and t.strip()]
    things = [_DIFFERENCE.sub("", _ASPECT.sub("", t)).strip(" 的") for t in things]
    things = [t for t in things if t]
    return things if len(things) >= 2 else []


def sub_questions(question: str) -> list[str]:
    """One search per thing compared, with the aspect asked about ("A的优缺点"), then the
    question itself; the question alone when it names fewer than two things."""
    aspect = _ASPECT.search(question)
    suffix = aspect.group(0) if aspect else ""
    things = compared_things(question)
    joiner = "" if suffix.startswith("的") or not suffix else " "
    return [f"{thing}{joiner}{suffix}" for thing in things] + [question]
