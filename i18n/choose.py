"""Which of `LANGUAGES` a person gets: from the browser's language tag (Streamlit's
`st.context.locale`), an HTTP `Accept-Language` header, or the system's locale variables (the
CLIs); English when none of them names a language ragchat speaks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from babel.core import UnknownLocaleError, parse_locale

from i18n.translate import DEFAULT, LANGUAGES

ENVIRONMENT = ("LC_ALL", "LC_MESSAGES", "LANG")
"""The POSIX variables that choose the messages' language, strongest first."""


def from_tags(tags: Iterable[str | None]) -> str:
    """The first tag (most preferred first) that names a language ragchat speaks: an exact match
    ("zh-CN", "zh_CN.UTF-8"), else the same language ("zh", "zh-TW" get zh_CN; "en-GB" en)."""
    for tag in tags:
        try:
            language, territory, *_ = parse_locale((tag or "").split(".")[0].replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue  # "C", "POSIX", "", "*"
        exact = f"{language}_{territory}" if territory else language
        if exact in LANGUAGES:
            return exact
        same = [known for known in LANGUAGES if known.split("_")[0] == language]
        if same:
            return same[0]
    return DEFAULT


def from_tag(tag: str | None) -> str:
    """The language for a browser's tag, e.g. `st.context.locale` ("zh-CN", None)."""
    return from_tags([tag])


def from_accept_language(header: str | None) -> str:
    """The language for an `Accept-Language` header ("zh-CN,zh;q=0.9,en;q=0.8"), by quality."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if weight > 0:
            weighted.append((-weight, position, tag.strip()))
    return from_tags(tag for *_, tag in sorted(weighted))


def from_environment(environ: Mapping[str, str]) -> str:
    """The language of a command's messages: the first set of LC_ALL, LC_MESSAGES, LANG (as
    gettext reads them: LC_ALL=C is English whatever LANG says)."""
    return from_tag(next((environ[name] for name in ENVIRONMENT if environ.get(name)), None))
