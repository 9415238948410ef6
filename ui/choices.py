"""The sidebar's retrieval choices, and the kinds of question, as people read them: the values
stay those of the config and of `AnswerOptions` (`hybrid`, `auto`, ...); only the label each is
shown with is translated.

    st.selectbox(_("Retrieval"), MODES, format_func=choices.named(choices.MODE_NAMES))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from i18n import N_, _, format_count, ngettext, translator

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


def kind_label(kind: str, left_out: int) -> str | None:
    """What a question was taken for, when more than a fact to look up, and how many passages
    found for it did not fit the prompt (the reader may narrow the question): "Answered as a
    list · 3 passages found did not fit". None for a lookup."""
    if kind == "lookup":
        return None
    label = _("Answered as {kind}").format(kind=named(KIND_NAMES)(kind))
    if left_out:
        left = ngettext(
            "{count} passage found did not fit", "{count} passages found did not fit", left_out
        )
        label += " · " + left.format(count=format_count(left_out))
    return label
