"""PowerPoint presentations (.pptx): one page per slide, its number the page number.

A slide's text is its title, then its other shapes top to bottom and left to right (the order
they are stored in is the order they were drawn, not read), groups opened, tables as rows of
`header: value`, and the speaker notes last.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from loaders.ooxml import reading_office_file
from loaders.page import Page
from loaders.tables import table_text

if TYPE_CHECKING:
    from pptx.shapes.base import BaseShape
    from pptx.slide import Slide


def read_pptx(path: Path) -> list[Page]:
    """Every slide of a presentation, hidden ones included."""
    import pptx

    with reading_office_file(path, "PowerPoint presentation", ".ppt"):
        return [Page(_slide_text(slide)) for slide in pptx.Presentation(str(path)).slides]


def _slide_text(slide: "Slide") -> str:
    title = slide.shapes.title
    parts = [] if title is None else [_text_frame(title)]
    parts += _shape_texts(shape for shape in slide.shapes if title is None or shape != title)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(part for part in parts if part.strip())


def _shape_texts(shapes: Iterable["BaseShape"]) -> list[str]:
    from pptx.shapes.group import GroupShape

    texts = []
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if isinstance(shape, GroupShape):
            texts += _shape_texts(shape.shapes)
        elif shape.has_text_frame:
            texts.append(_text_frame(shape))
        elif shape.has_table:
            rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
            texts.append(table_text(rows))
    return texts


def _text_frame(shape: "BaseShape") -> str:
    """A shape's paragraphs, one a line (a line break inside a paragraph is a line, too)."""
    return shape.text_frame.text.replace("\v", "\n")
