"""The interface in the person's language: gettext catalogues (Babel), locale choice and
number and date formatting.

    from i18n import _, N_, ngettext
    i18n.use("zh_CN")            # at the face, once per run or request
    st.button(_("New chat"))      # translated now, in the current locale
    HINT = N_("Run ingest.py")    # marked for the catalogue, translated where shown: _(HINT)

English is the source language and the fallback; `docs/guides/languages.md` says how to add one.
"""

from errors import N_
from i18n.choose import from_accept_language, from_environment, from_tag
from i18n.formatting import format_count, format_date, format_datetime, format_number, format_size
from i18n.translate import (
    DEFAULT,
    LANGUAGES,
    _,
    current,
    explain,
    language_name,
    ngettext,
    translator,
    use,
    using,
)

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "N_",
    "_",
    "current",
    "explain",
    "format_count",
    "format_date",
    "format_datetime",
    "format_number",
    "format_size",
    "from_accept_language",
    "from_environment",
    "from_tag",
    "language_name",
    "ngettext",
    "translator",
    "use",
    "using",
]
