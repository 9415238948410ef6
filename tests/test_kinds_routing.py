"""The question router's cue words (`chains.kinds`), the comparison's sub-questions and the
gathering helpers (`chains.gathering`): fast, no model. The labelled questions are the kinds QA
set and every lookup of the answer QA sets."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from chains.gathering import in_turns, main_document, outline_answer, per_document
from chains.kinds import QuestionRouter, compared_things, route_by_rules, sub_questions
from evaluation.coverage import read_kinds_qa, routing_accuracy
from evaluation.scoring import read_qa
from tests.support.fakes import fake_models
from tests.support.paths import DATA

LOOKUP_FILES = ["seeds_qa_zh.jsonl", "seeds_qa_en.jsonl", "absent_qa.jsonl", "pydocs_qa.jsonl"]


def test_the_rules_route_the_kinds_set_and_leave_lookups_alone():
    kinds = [(i.question, i.kind) for i in read_kinds_qa(DATA / "kinds_seeds.jsonl")]
    lookups = [
        (i.question, "lookup")
        for name in LOOKUP_FILES
        for i in read_qa(DATA / name, allow_absent=True)
    ]
    wide = routing_accuracy(route_by_rules, kinds)
    assert wide["accuracy"] >= 0.95, wide["misses"]
    assert min(wide["by_kind"].values()) >= 0.8, wide["by_kind"]
    narrow = routing_accuracy(route_by_rules, lookups)
    assert narrow["accuracy"] >= 0.97, narrow["misses"]  # 3 of 142 read as comparisons


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("总结一下这些笔记主要讲了哪些内容。", "overview"),
        ("What topics do these notes cover? Give a short overview.", "overview"),
        ("总结一下讲n-gram的那篇笔记。", "summary"),
        ("Summarize the note on fine-tuning.", "summary"),
        ("比较n-gram语言模型和神经网络语言模型的优缺点。", "comparison"),
        ("What is the difference between BERT and GPT?", "comparison"),
        ("列出笔记中提到的所有平滑方法。", "list"),
        ("List all the smoothing methods the notes mention.", "list"),
        ("n元模型靠什么假设来简化计算？", "lookup"),
        ("If the value is already in the list, where does bisect_left put it?", "lookup"),
    ],
)
def test_cue_words(question, kind):
    routed = route_by_rules(question)
    assert (routed.kind, routed.sure) == (kind, True)


def test_an_unsure_question_goes_to_the_helper_model_and_a_sure_one_does_not():
    models = fake_models(["list"])
    router = QuestionRouter(models.helper)
    assert router("GPT-3有多少参数？").kind == "lookup"  # sure: no model call
    assert models.helper.prompts == []
    routed = router("预训练和微调各自的作用是什么？")  # a weak cue only: unsure
    assert (routed.kind, routed.by_model) == ("list", True)
    assert len(models.helper.prompts) == 1


def test_a_reply_naming_no_kind_keeps_the_rules_guess():
    router = QuestionRouter(fake_models(["I think so"]).helper)
    assert router("预训练和微调各自的作用是什么？").kind == "lookup"


@pytest.mark.parametrize(
    ("question", "things", "first"),
    [
        (
            "比较n-gram语言模型和神经网络语言模型的优缺点。",
            ["n-gram语言模型", "神经网络语言模型"],
            "n-gram语言模型的优缺点",
        ),
        ("RNN和LSTM有什么区别？", ["RNN", "LSTM"], "RNN"),
        ("How does an RNN differ from an LSTM?", ["an RNN", "an LSTM"], "an RNN"),
        (
            "What are the differences between pre-training and fine-tuning?",
            ["pre-training", "fine-tuning"],
            "pre-training",
        ),
        (
            "What are the pros and cons of add-one smoothing and back-off?",
            ["add-one smoothing", "back-off"],
            "add-one smoothing pros and cons",
        ),
    ],
)
def test_a_comparison_is_searched_once_per_thing_then_as_asked(question, things, first):
    assert compared_things(question) == things
    searches = sub_questions(question)
    assert searches[0] == first and searches[-1] == question and len(searches) == 3


def test_one_thing_is_no_comparison():
    assert compared_things("比较一下微调。") == []
    assert sub_questions("比较一下微调。") == ["比较一下微调。"]


def _doc(number: int, source: str, start: int = 0) -> Document:
    return Document(
        id=f"{source}-{number}",
        page_content=f"passage {number}",
        metadata={"source": source, "start": start, "end": start + 9},
    )


def test_searches_take_turns_and_each_passage_comes_once():
    a1, a2, b1 = _doc(1, "a.md"), _doc(2, "a.md"), _doc(3, "b.md")
    assert in_turns([[a1, a2], [b1, a1]]) == [a1, b1, a2]


def test_a_list_keeps_a_few_passages_per_document():
    found = [_doc(n, "a.md") for n in range(4)] + [_doc(9, "b.md")]
    assert [d.id for d in per_document(found, 2)] == ["a.md-0", "a.md-1", "b.md-9"]
    assert main_document(found) == "a.md"
    assert main_document([]) is None


def test_an_outline_answer_cites_every_line_in_document_order():
    passages = [_doc(1, "b.md", 50), _doc(2, "a.md", 10), _doc(3, "b.md", 5)]
    assert outline_answer(passages).splitlines() == [
        "- passage 2 [2]",
        "- passage 3 [3]",
        "- passage 1 [1]",
    ]
