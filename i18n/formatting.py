"""Numbers, sizes and dates as the current language writes them (Babel's CLDR data), so that
"12,345 chunks", "1.5 MB" and "2024/5/3 14:07" read naturally in each language."""

from __future__ import annotations

from datetime import date, datetime

from babel import dates, numbers, units

from i18n.translate import current


def format_number(value: float) -> str:
    """A count or a measure with the language's grouping and decimal signs."""
    return numbers.format_decimal(value, locale=current())


def format_count(value: int) -> str:
    """An integer count, grouped ("12,345")."""
    return numbers.format_decimal(value, format="#,##0", locale=current())


def format_size(size_bytes: float) -> str:
    """A file or index size in megabytes, one decimal ("1.5 MB")."""
    megabytes = size_bytes / 1e6
    return units.format_unit(
        megabytes, "digital-megabyte", length="short", format="#,##0.0", locale=current()
    )


def format_date(day: date) -> str:
    """A day, medium form ("May 3, 2024", "2024年5月3日")."""
    return dates.format_date(day, "medium", locale=current())


def format_datetime(timestamp: float) -> str:
    """A moment (seconds since the epoch) in this machine's time zone, short form."""
    return dates.format_datetime(datetime.fromtimestamp(timestamp), "short", locale=current())
