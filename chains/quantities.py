"""The numbers a text states, so that an answer's numbers can be checked against its passages.

A small model asked for a number the passages lack writes one anyway ("GPT-4 has 100 million
parameters [1]", 「BERT-base 有 2 层 Transformer 编码器」): the sentence shares its other words
with a passage on the topic, so shared words alone would count it as supported. So a passage
supports a sentence only if it states each of the sentence's numbers (`chains.citations`). Numbers
are compared by value, thousands separators dropped and scale words applied: "175 billion" matches
「1750亿」 and "100K" matches "100,000". Numbers written as words (three, 三) are not checked.
"""

from __future__ import annotations

import re
from decimal import Decimal

_NUMBER = re.compile(
    r"(?<![A-Za-z\d.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\d])"
    r"\s?(万亿|万|亿|千|thousand|million|billion|trillion|[KkMB](?![A-Za-z]))?"
)
"""A number not glued to a word before it (word2vec, v1.2.3 stay out), and the scale word after
it if any. `GPT-4`'s 4 counts: a passage about GPT-3 does not support a sentence about GPT-4."""
_SCALE = {
    "万亿": Decimal("1e12"),
    "万": Decimal("1e4"),
    "亿": Decimal("1e8"),
    "千": Decimal("1e3"),
    "thousand": Decimal("1e3"),
    "million": Decimal("1e6"),
    "billion": Decimal("1e9"),
    "trillion": Decimal("1e12"),
    "K": Decimal("1e3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "B": Decimal("1e9"),
}


def stated(text: str, unscaled: bool = False) -> set[Decimal]:
    """The values of the numbers the (normalized) text states, scale words applied; with
    `unscaled`, also each number as written without its scale word (a passage saying "100
    million" supports an answer saying "100")."""
    values = set()
    for match in _NUMBER.finditer(text):
        value = Decimal(match.group(1).replace(",", ""))
        values.add((value * _SCALE.get(match.group(2), 1)).normalize())
        if unscaled:
            values.add(value.normalize())
    return values
