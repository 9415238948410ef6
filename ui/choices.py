"""The sidebar's retrieval choices, and the kinds of question, as people read them: the values
stay those of the config and of `AnswerOptions` (`hybrid`, `auto`, ...); only the label each is
shown with is translated.

    st.selectbox(_("Retrieval"), MODES, format_func=choices.named(choices.MODE_NAMES))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from i18n import N_, translator

MODE_NAMES = {
    "hybrid": N_("hybrid (meaning + keywords)"),
    "dense": N_("dense (meaning)"),
    "bm25": N_("bm25 (keywords)"),
}
"""Each retrieval mode (`chains.retrieval.Mode`) by what it matches on."""
TRANSLATE_NAMES = {
    "auto": N_("auto (when the languages differ)"),
    "per_question": N_("per question (when its own search misses)"),
    "always": N_("always"),
    "off": N_("off"),
}
"""Each choice of translating the question (`config.TranslateQuery`)."""
KIND_NAMES = {
    "lookup": N_("a fact"),
    "summary": N_("a summary of a document"),
    "overview": N_("an overview"),
    "comparison": N_("a comparison"),
    "list": N_("a list"),
}
"""Each kind of question (`chains.kinds.Kind`), as the answer's label names it."""


def named(names: Mapping[str, str]) -> Callable[[str], str]:
    """A `format_func` that shows each value by its name in the current language (a value
    without one as itself). The language is fixed now: Streamlit may call it after this run."""
    translate = translator()
    return lambda value: translate(names[value]) if value in names else value
