"""What a reader returns: the raw text of each page of a file, and what the chunker must know
about it (a name to show, whether it was recognized from an image, whether it is a table)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page, slide, sheet or image of a file (a whole file when its format has no pages).

    `label` names a page whose format gives it a name (a sheet), shown beside its number;
    `ocr` says the text was recognized from an image, so a source card can warn of misreadings;
    `rows` says each line is one table row, which a window must never cut through.
    """

    text: str
    label: str | None = None
    ocr: bool = False
    rows: bool = False
