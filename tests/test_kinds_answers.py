"""Questions beyond one passage through the answer service, in the fast lane: the sample notes
indexed by the fake embedder (`fake_kb`) and a fake chat model. The answer names its kind and
says how many passages found for it did not fit the kind's budget (`Answer.left_out`, the API's
`left_out`, the app's caption); the real model's coverage is gated in test_kinds_quality.py."""

from __future__ import annotations

from pathlib import Path

from ask import ask
from chains.rag import WIDE_EXAMPLE
from config import PathsSettings, QuestionSettings, RetrievalSettings, Settings
from index.knowledge_base import KnowledgeBase
from llms.queue import ModelQueue
from services.answering import AnswerOptions, RagService
from services.outlines import OutlineStore, outline_path
from tests.support.fakes import fake_models

QUESTION = "列出笔记中提到的所有平滑方法。"
LINE = "- 加一平滑（Laplace smoothing）最简单：每个计数都加 1，分母加上词表大小 V。[1]"


def _service(fake_kb: KnowledgeBase, list_tokens: int, index: Path = Path("index")) -> RagService:
    """A service whose list questions get `list_tokens` tokens of passages (outlines: those of
    the index at `index`)."""
    settings = Settings(
        paths=PathsSettings(index=index),
        retrieval=RetrievalSettings(translate_query="off", answer_similarity=-1),
        questions=QuestionSettings(context_tokens={"list": list_tokens}),
    )
    return RagService(settings, fake_kb, "local", fake_models([LINE]), ModelQueue())


def test_an_answer_says_how_much_of_its_material_did_not_fit(fake_kb):
    wide = _service(fake_kb, 4000).answer(QUESTION)
    narrow = _service(fake_kb, 300).answer(QUESTION)
    assert (wide.kind, narrow.kind) == ("list", "list")
    assert wide.left_out == 0 and len(wide.sources) > 2
    assert narrow.left_out > 0 and narrow.sources
    assert len(narrow.sources) + narrow.left_out == len(wide.sources)  # the same passages found
    assert narrow.to_dict()["left_out"] == narrow.left_out  # the API's and ask.py's JSON
    assert narrow.to_dict()["kind"] == "list"


def test_ask_prints_the_kind_and_what_did_not_fit(fake_kb, capsys):
    ask(_service(fake_kb, 300), QUESTION, [], AnswerOptions(), stream=True)
    printed = capsys.readouterr().out
    assert "(Answered as a list · " in printed and "did not fit)" in printed
    ask(_service(fake_kb, 300), "平滑是什么？", [], AnswerOptions(kind="lookup"), stream=True)
    assert "Answered as" not in capsys.readouterr().out  # a lookup is not labelled


def test_a_summary_reads_its_documents_outline_headings_and_all(fake_kb, tmp_path):
    index = tmp_path / "index"
    OutlineStore(outline_path(index)).sync(fake_kb)
    rag = _service(fake_kb, 4000, index)
    passages = rag.passages("总结一下讲平滑方法的那篇笔记。", AnswerOptions(kind="summary"))
    source = passages[0].metadata["source"]  # the found document with the closest heading
    outline = rag.outlines.outline(source)
    assert any(line.heading for line in outline)
    assert [p.page_content for p in passages[: len(outline)]] == [line.text for line in outline]
    assert passages[0].page_content.startswith("# ")  # the title: a heading
    assert all(p.metadata["source"] == source for p in passages)


INVENTED = "- 火星上的三条河流都用加一平滑命名。"
BACKED = "- 回退（back-off）和插值（interpolation）利用低阶模型的信息。"


def _answering(fake_kb: KnowledgeBase, reply: str, similarity: float = -1) -> RagService:
    """A service whose model always answers `reply`, and that takes passages to come close to
    a question when a sentence of theirs is `similarity` close to it."""
    settings = Settings(
        paths=PathsSettings(index=Path("index")),
        retrieval=RetrievalSettings(translate_query="off", answer_similarity=similarity),
    )
    return RagService(settings, fake_kb, "local", fake_models([reply]), ModelQueue())


def test_a_list_leaves_out_the_lines_no_passage_supports_and_streams_what_it_ends_with(fake_kb):
    rag = _answering(fake_kb, f"{LINE}\n{INVENTED}[2]\n{BACKED}\n\n (notes.md)\n。")
    events = list(rag.stream(QUESTION))
    answer = events[-1]
    assert answer.kind == "list"
    assert answer.unsupported[0] == INVENTED  # named under the answer, as a lookup's
    assert answer.unsupported[1:] == ["(notes.md)\n。"]  # a passage's label copied: one sentence
    assert "火星" not in answer.text and "notes.md" not in answer.text  # not shown as found
    assert answer.text.startswith(LINE) and BACKED in answer.text
    assert "".join(e for e in events if isinstance(e, str)) == answer.text
    lookup = rag.answer(QUESTION, options=AnswerOptions(kind="lookup"))
    assert INVENTED in lookup.text and INVENTED in lookup.unsupported  # uncited, flagged


def test_a_copy_of_the_worked_example_is_left_out_of_an_answer_over_notes(fake_kb):
    copied = WIDE_EXAMPLE["zh"][1].splitlines()[0]  # the model copies it now and then
    answer = _answering(fake_kb, f"{LINE}\n{copied}").answer(QUESTION)
    assert answer.text.startswith(LINE) and "绿茶" not in answer.text
    assert answer.unsupported == [copied.removesuffix("[1]")]


def test_an_outline_summary_shows_no_line_unsupported(fake_kb, tmp_path):
    index = tmp_path / "index"
    OutlineStore(outline_path(index)).sync(fake_kb)
    question = "What does the note on Kneser-Ney smoothing say?"
    answer = _service(fake_kb, 4000, index).answer(question, options=AnswerOptions(kind="summary"))
    assert answer.text.startswith("- # 平滑方法 [1]")  # its title names no Kneser-Ney: still shown
    assert not answer.unsupported and len(answer.cited) == len(answer.sources)
