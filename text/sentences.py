"""Where sentences end, in Chinese and English: the windows are cut there (`loaders.chunking`),
answers are checked sentence by sentence (`chains.citations`) and each sentence of a window gets
its own vector (`index`)."""

import re

SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』）)\]\"']*|\.(?=\s)|\n")
"""A sentence end: Chinese or Latin punctuation (NFKC turns full-width ！？；into ASCII),
optionally followed by closing quotes or brackets; or a newline."""


def sentences(text: str) -> list[str]:
    """The text cut after each sentence end (the same ends the windows are cut at), stripped,
    empty pieces left out."""
    pieces, start = [], 0
    for match in SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


MAX_SENTENCE_UNITS = 32
"""Most sentence vectors kept per window (fewer for large embedders:
`index.records.sentence_unit_limit`): prose windows of 500 characters hold 5-20 sentences; a
window of short lines (a table, code) is cut into runs of lines instead."""


def sentence_units(text: str, most: int = MAX_SENTENCE_UNITS) -> list[str]:
    """The pieces of a window that get a vector each: its sentences (the text itself when it
    has none), or `most` runs of consecutive sentences when it has more."""
    pieces = sentences(text) or [text]
    if len(pieces) <= most:
        return pieces
    bounds = [round(i * len(pieces) / most) for i in range(most + 1)]
    return [" ".join(pieces[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
