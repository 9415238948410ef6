"""Which language a text is in, and how an answer says the documents lack the answer in each:
shared by the prompts (`chains.rag`), query translation (`chains.expansion`), answer scoring
(`evaluation.scoring`) and fine-tuning data (`finetune.data`)."""

from __future__ import annotations

REFUSALS = {
    "en": "The documents do not contain the answer.",
    "zh": "资料中没有找到答案。",
}
"""What the model is taught to say when the passages lack the answer."""


def is_refusal(answer: str) -> bool:
    """Whether the answer is the model saying the documents lack the answer."""
    return any(refusal.rstrip("。.") in answer for refusal in REFUSALS.values())


def question_language(question: str) -> str:
    """`zh` when the question has Chinese characters, else `en`: answers follow the question."""
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in question) else "en"


def main_language(text: str) -> str:
    """`zh` when at least a quarter of the letters are Chinese characters, else `en`: notes in
    Chinese are full of English terms."""
    chinese = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "zh" if chinese >= 0.25 * (chinese + latin) else "en"
