"""Instruction data for fine-tuning, built from the knowledge base.

Each QA pair becomes one chat example formatted exactly as the RAG chain formats a question
(system prompt, worked examples, numbered passages from the project's retriever, question), with
the answer the model should learn: the expected answer citing the passage that holds it, or the
refusal when no retrieved passage does. Some pairs also get passages from another question, so
the model learns to refuse as well as to answer. Synthetic pairs, written by the configured LLM
from single chunks, are kept only when their answer is found word for word in their chunk.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import convert_to_openai_messages

from chains.citations import format_context, supporting_sentence
from chains.rag import answer_prompts
from errors import RagchatError
from evaluation.scoring import QAItem, read_jsonl, squeeze
from text.language import REFUSALS, question_language


class DatasetError(RagchatError):
    """An example file that cannot be used, or a data set with nothing in it."""


@dataclass
class Example:
    """One chat example; `expected` is None where the right answer is the refusal."""

    qid: str
    kind: str  # "qa", "refusal" (passages lack the answer) or "synthetic"
    question: str
    messages: list[dict]
    expected: str | None
    passages: list[str]

    @property
    def prompt(self) -> list[dict]:
        """The messages the model sees: all but the answer."""
        return self.messages[:-1]


@dataclass
class BuildSummary:
    qa: int = 0
    refusal: int = 0
    synthetic: int = 0
    duplicates: int = 0
    too_long: int = 0
    train: int = 0
    val: int = 0
    longest_tokens: int = 0
    notes: list[str] = field(default_factory=list)


def rag_messages(question: str, passages: Sequence[Document], answer: str) -> list[dict]:
    """The chat the RAG chain would send for `question` over `passages`, plus `answer`."""
    prompt = answer_prompts[question_language(question)].invoke(
        {"context": format_context(passages), "standalone_question": question}
    )
    return convert_to_openai_messages(prompt.to_messages()) + [
        {"role": "assistant", "content": answer}
    ]


def target_answer(question: str, expected: str, passages: Sequence[Document]) -> str | None:
    """The expected answer citing the first passage that holds it; None when none does."""
    wanted = squeeze(expected)
    for number, passage in enumerate(passages, start=1):
        if wanted in squeeze(passage.page_content):
            end = "。" if question_language(question) == "zh" else "."
            return f"{expected.rstrip('。.')} [{number}]{end}"
    return None


def build_examples(
    items: Iterable[QAItem],
    find_passages: Callable[[str], list[Document]],
    refusal_fraction: float,
    seed: int,
    kind: str = "qa",
) -> list[Example]:
    """Answer and refusal examples for `items`, with the passages `find_passages` gives each
    question (`RagService.passages`: the same passages, translation and budget as served)."""
    items = list(items)
    found = {item.qid: find_passages(item.question) for item in items}
    examples = []
    answerable = []
    for item in items:
        passages = found[item.qid]
        answer = target_answer(item.question, item.answer, passages)
        examples.append(_example(item, kind if answer else "refusal", passages, answer))
        answerable += [item] if answer else []
    chooser = random.Random(seed)
    for item in chooser.sample(answerable, round(refusal_fraction * len(answerable))):
        lacking = [
            found[other.qid]
            for other in chooser.sample(items, len(items))
            if target_answer(item.question, item.answer, found[other.qid]) is None
        ]
        if lacking:
            refusal = _example(item, "refusal", lacking[0], None)
            refusal.qid = f"{item.qid}:refusal"
            examples.append(refusal)
    return examples


def _example(item: QAItem, kind: str, passages: Sequence[Document], answer: str | None) -> Example:
    text = answer or REFUSALS[question_language(item.question)]
    return Example(
        qid=item.qid,
        kind=kind,
        question=item.question,
        messages=rag_messages(item.question, passages, text),
        expected=item.answer if answer else None,
        passages=[p.page_content for p in passages],
    )


_QUESTION_PROMPT = (
    "Write one question that the passage below answers. Use the passage's language. "
    "Reply with the question only.\n\nPassage:\n{passage}"
)


def synthetic_items(
    llm: BaseChatModel, chunks: Iterable[Document], count: int, seed: int
) -> tuple[list[QAItem], int]:
    """Up to `count` QA pairs made with the LLM from random chunks, and how many chunks were
    tried. The LLM writes a question about a chunk and answers it from that chunk alone with the
    RAG prompt; the answer kept is the chunk's own sentence that supports that reply, so every
    synthetic answer is a verbatim quote (a reply no sentence supports drops the pair)."""
    chunks = list(chunks)
    picked = random.Random(seed).sample(chunks, min(count, len(chunks)))
    items = []
    for number, chunk in enumerate(picked, start=1):
        reply = llm.invoke(_QUESTION_PROMPT.format(passage=chunk.page_content)).content
        question = str(reply).strip().splitlines()[0].strip() if str(reply).strip() else ""
        if not question:
            continue
        prompt = rag_messages(question, [chunk], "")[:-1]
        answer = supporting_sentence(str(llm.invoke(prompt).content), chunk.page_content)
        if answer:
            items.append(QAItem(f"synthetic:{number}", question, answer))
    return items, len(picked)


def deduplicate(examples: list[Example]) -> tuple[list[Example], int]:
    """The examples with each (question, kind) once; and how many were dropped."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for example in examples:
        key = (squeeze(example.question), example.kind == "refusal")
        if key not in seen:
            seen.add(key)
            kept.append(example)
    return kept, len(examples) - len(kept)


def split(
    examples: list[Example], val_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Train and validation sets, split by question: a question's answer and refusal examples
    land on the same side, so validation questions are never seen in training."""
    questions = sorted({e.qid.split(":refusal")[0] for e in examples})
    random.Random(seed).shuffle(questions)
    held_out = set(questions[: round(val_fraction * len(questions))])
    train = [e for e in examples if e.qid.split(":refusal")[0] not in held_out]
    val = [e for e in examples if e.qid.split(":refusal")[0] in held_out]
    return train, val


def write_examples(path: Path, examples: Iterable[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")


def read_examples(path: Path) -> list[Example]:
    """Examples from a JSONL file `write_examples` wrote, naming the line of any problem."""
    if not path.is_file():
        raise DatasetError(f"{path}: not found; run `python finetune.py build-data` first")

    def parse(record: dict, _: int) -> Example:
        example = Example(**record)
        if not example.messages or example.messages[-1]["role"] != "assistant":
            raise ValueError("the last message must be the answer")
        return example

    return read_jsonl(path, parse, DatasetError, "examples")


def drop_too_long(
    examples: list[Example], chat_tokens: Callable[[list[dict]], int], max_tokens: int
) -> tuple[list[Example], int, int]:
    """The examples that fit `max_tokens` (chat template included), how many did not, and the
    longest kept, in tokens."""
    lengths = [chat_tokens(e.messages) for e in examples]
    kept = [e for e, n in zip(examples, lengths, strict=True) if n <= max_tokens]
    longest = max((n for n in lengths if n <= max_tokens), default=0)
    return kept, len(examples) - len(kept), longest
