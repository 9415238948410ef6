"""The sidebar's "Filters": which folders, file types, languages, tags and modification dates
the next question may search, offered from what the current knowledge base holds."""

from __future__ import annotations

from datetime import date

import streamlit as st

from i18n import N_, _, format_date
from index.errors import IndexStoreError
from index.filters import ChunkFilter
from services.container import ServiceHub
from services.people import Person

LANGUAGE_NAMES = {"zh": N_("Chinese (zh)"), "en": N_("English (en)")}
REINDEX_HINT = N_("This index has no metadata to filter on yet: run `python ingest.py` to add it.")


def sidebar_filter(hub: ServiceHub, kb: str | None, person: Person) -> ChunkFilter:
    """The filter chosen in a "Filters" expander (call it inside `st.sidebar`); an empty
    filter when there is no knowledge base `kb`, or it has no index to choose from. Each
    knowledge base keeps its own choices."""
    if kb is None:
        return ChunkFilter()
    try:
        found = hub.knowledge_bases.facets(kb, person=person)
    except IndexStoreError:  # the chat page says what is wrong with the index
        return ChunkFilter()
    with st.expander(_("Filters")):
        if not (found.types or found.folders or found.tags):
            st.caption(_(REINDEX_HINT))
            return ChunkFilter()
        folders = st.multiselect(
            _("Folders (with their subfolders)"), sorted(found.folders), key=f"filter-folders-{kb}"
        )
        types = st.multiselect(_("File types"), sorted(found.types), key=f"filter-types-{kb}")
        languages = st.multiselect(
            _("Languages"),
            sorted(found.languages),
            format_func=lambda code: _(LANGUAGE_NAMES[code]) if code in LANGUAGE_NAMES else code,
            key=f"filter-languages-{kb}",
        )
        tags = st.multiselect(_("Tags"), sorted(found.tags), key=f"filter-tags-{kb}")
        after, before = _date_range(found.oldest, found.newest, kb)
    return ChunkFilter(
        folders=frozenset(folders),
        types=frozenset(types),
        languages=frozenset(languages),
        tags=frozenset(tags),
        modified_after=after,
        modified_before=before,
    )


def _date_range(
    oldest: date | None, newest: date | None, kb: str
) -> tuple[date | None, date | None]:
    """(after, before) from a date range picker that starts empty (no limit); a range whose
    end is not picked yet limits only its start."""
    if oldest is None or newest is None:
        return None, None
    picked = st.date_input(
        _("Modified between"),
        value=(),
        min_value=oldest,
        max_value=newest,
        key=f"filter-dates-{kb}",
        help=_("Files here were modified between {oldest} and {newest}.").format(
            oldest=format_date(oldest), newest=format_date(newest)
        ),
    )
    days = list(picked) if isinstance(picked, list | tuple) else [picked]
    return (days[0] if days else None), (days[1] if len(days) > 1 else None)
