"""Spreadsheets (.xlsx) and CSV files as text: one line per row, `header: value; header: value`.

Each row carries its own headers, so any window of rows reads on its own (a question about "the
price of X" finds the row, wherever the header line is). The lines are marked as rows, so the
chunker never cuts through one that fits in a window. Each sheet of a workbook is a page,
labelled with the sheet's name.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from i18n import N_
from loaders.encoding import decode_text, looks_binary
from loaders.errors import LoaderError
from loaders.ooxml import reading_office_file
from loaders.page import Page

_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 16 * 1024


def read_xlsx(path: Path) -> list[Page]:
    """Every sheet of an Excel workbook, the cached values of formulas rather than formulas."""
    import openpyxl

    with reading_office_file(path, "Excel workbook", ".xls"):
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return [
                Page(table_text(sheet.iter_rows(values_only=True)), label=sheet.title, rows=True)
                for sheet in workbook.worksheets
            ]
        finally:
            workbook.close()


def read_csv(path: Path) -> list[Page]:
    """A CSV file in any encoding decode_text knows, its delimiter guessed (`,` `;` tab `|`)."""
    text, encoding = decode_text(path.read_bytes())
    if looks_binary(text):
        raise LoaderError(N_("looks like a binary file, not {encoding} text"), encoding=encoding)
    rows = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    try:
        return [Page(table_text(rows), rows=True)]
    except csv.Error as err:
        raise LoaderError(N_("malformed CSV ({error})"), error=err) from None


def _dialect(text: str) -> type[csv.Dialect]:
    """The dialect guessed from the first whole lines; the standard comma when the file has one
    column or is too irregular to tell."""
    sample = text[:_SNIFF_CHARS]
    sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel


def table_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as lines of `header: value` pairs; the first row with any value is the header, rows
    without values are left out, and so are empty cells."""
    header: list[str] | None = None
    lines = []
    for row in rows:
        cells = [_cell_text(value) for value in row]
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        lines.append(_row_text(header, cells))
    if header is not None and not lines:  # a table of one row: its values are the content
        lines.append(" | ".join(cell for cell in header if cell))
    return "\n".join(lines)


def _row_text(header: Sequence[str], cells: Sequence[str]) -> str:
    """`header: value; header: value` (a column without a header is named by its number)."""
    return "; ".join(
        f"{header[i] if i < len(header) and header[i] else f'column {i + 1}'}: {cell}"
        for i, cell in enumerate(cells)
        if cell
    )


def _cell_text(value: object) -> str:
    """A cell as a person would read it: whole numbers without `.0`, dates without a midnight
    time, text on one line."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return " ".join(str(value).split())
