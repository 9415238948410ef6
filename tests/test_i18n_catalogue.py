"""Nothing of the interface is left out of the catalogue: every string a Streamlit element of
the app shows goes through `_()` (an AST check of ui/ and app.py), the catalogues hold exactly
what extraction finds in the code (`make i18n-update`), and every entry is translated, not fuzzy,
in every language.

The rule of the AST check: a string literal (or an f-string's literal text) with a letter in it,
given to a Streamlit element that shows text (`st.button(...)`, `column.metric(...)`,
`status.update(label=...)`) as a positional argument or as its label, help, placeholder, body or
text, is an unwrapped interface string. Strings built elsewhere and passed in by name are the
reviewer's to see; the catalogue's own checks below keep the wrapped ones complete."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from i18n.translate import DOMAIN, LANGUAGES, LOCALES
from tests.support.paths import REPO

SHOWN_BY = frozenset(
    {
        "button", "caption", "chat_input", "checkbox", "date_input", "dialog", "download_button",
        "error", "expander", "file_uploader", "form_submit_button", "header", "info", "markdown",
        "metric", "multiselect", "number_input", "popover", "progress", "radio", "selectbox",
        "slider", "spinner", "status", "subheader", "success", "tabs", "text_area", "text_input",
        "title", "toast", "toggle", "update", "warning", "write",
    }
)  # fmt: skip
"""Streamlit's elements that show text they are given."""
TEXT_KEYWORDS = frozenset({"label", "help", "placeholder", "body", "text", "caption", "title"})


def unwrapped(source: str) -> list[tuple[int, str]]:
    """(line, text) of each interface string in `source` that is not passed through `_()`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr not in SHOWN_BY:
                continue
            shown = [*node.args, *(k.value for k in node.keywords if k.arg in TEXT_KEYWORDS)]
            found += [(node.lineno, text) for arg in shown for text in _literals(arg)]
    return found


def _literals(node: ast.expr) -> Iterator[str]:
    """The literal text with letters in an argument, through lists, `+`, f-strings and `a if c
    else b`, but not into calls (`_("...")` is the wrapped form)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if any(char.isalpha() for char in node.value):
            yield node.value
    elif isinstance(node, ast.JoinedStr | ast.List | ast.Tuple):
        for part in node.values if isinstance(node, ast.JoinedStr) else node.elts:
            yield from _literals(part)
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)


def test_the_check_finds_an_unwrapped_string_and_passes_a_wrapped_one() -> None:
    snippet = (
        'st.button("New chat")\n'
        'st.caption(f"Signed in as {name}")\n'
        'bar.progress(0.5, text="Embedding…")\n'
        'st.selectbox(_("Page"), pages, help="Pick one", key="page")\n'
    )
    assert unwrapped(snippet) == [
        (1, "New chat"),
        (2, "Signed in as "),
        (3, "Embedding…"),
        (4, "Pick one"),
    ]
    fixed = 'st.button(_("New chat"), key="new")\nst.caption("⚠️ " + _("Not found: {q}"))\n'
    assert unwrapped(fixed) == []


def test_every_interface_string_of_the_app_is_wrapped() -> None:
    files = [REPO / "app.py", *sorted((REPO / "ui").glob("*.py"))]
    left = [
        f"{path.relative_to(REPO)}:{line}: {text!r}"
        for path in files
        for line, text in unwrapped(path.read_text(encoding="utf-8"))
    ]
    assert not left, "wrap these in _():\n" + "\n".join(left)


def _extracted() -> set[str]:
    """The message ids the code marks, as `make i18n-extract` finds them (babel.cfg)."""
    with (REPO / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(REPO), method_map, options_map)
    }


def _complete(string: str | tuple[str, ...]) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


def _catalogue(language: str):
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as file:
        return read_po(file, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_holds_exactly_what_the_code_marks(language: str) -> None:
    catalogue = _catalogue(language)
    held = {message.id if isinstance(message.id, str) else message.id[0] for message in catalogue}
    held.discard("")  # the header
    marked = _extracted()
    assert not marked - held, f"run `make i18n-update`: new messages {sorted(marked - held)}"
    assert not held - marked, f"run `make i18n-update`: unused messages {sorted(held - marked)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    catalogue = _catalogue(language)
    missing = [
        message.id
        for message in catalogue
        if message.id and (message.fuzzy or not _complete(message.string))
    ]
    assert not missing, f"untranslated or fuzzy in {language}: {missing}"
