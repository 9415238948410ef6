"""Translation: the compiled catalogues (`locales/<lang>/LC_MESSAGES/ragchat.mo`, built from the
`.po` files by `make install`), the locale of the current run or request, and the error
family's messages rendered in it.

The locale lives in a context variable: each Streamlit run, API request and CLI sets its own
(`use`), so two people in two languages never see each other's. A message defined at import time
is only marked (`N_`) and translated where it is shown (`_`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import Translations

from errors import Message, RagchatError

DOMAIN = "ragchat"
LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"
LANGUAGES = ("en", "zh_CN")
"""The languages the interface speaks: English (the source and the fallback) first."""

_locale: ContextVar[str] = ContextVar("ragchat_locale", default=DEFAULT)


def use(locale: str) -> None:
    """Speak `locale` (one of `LANGUAGES`) for the rest of this run, request or command."""
    _locale.set(locale if locale in LANGUAGES else DEFAULT)


@contextmanager
def using(locale: str) -> Iterator[None]:
    """Speak `locale` inside the block only (an API error rendered for one request)."""
    token = _locale.set(locale if locale in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _locale.reset(token)


def current() -> str:
    return _locale.get()


@cache
def _catalogue(locale: str) -> Translations:
    """The compiled catalogue; the English source text itself when it is not compiled."""
    return Translations.load(LOCALES, [locale], DOMAIN)


def _(message: str) -> str:
    """`message` (an English msgid) in the current language."""
    return _catalogue(current()).gettext(message)


def translator() -> Callable[[str], str]:
    """`_` fixed to the current language: a widget's `format_func`, which Streamlit may call
    outside the run that drew it (AppTest does)."""
    return _catalogue(current()).gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` that fits `n` in the current language (Chinese has one)."""
    return _catalogue(current()).ngettext(singular, plural, n)


def explain(err: RagchatError | Message) -> str:
    """An error of the family (or a `Message`) in the current language: its message id
    translated, then its named parameters filled in (those that are errors or messages too are
    explained first)."""
    params = {
        name: explain(value) if isinstance(value, RagchatError | Message) else value
        for name, value in err.params.items()
    }
    text = _(err.template)
    return text.format(**params) if params else text


def language_name(locale: str) -> str:
    """The language's own name for itself ("English", "中文 (简体, 中国)"), for the switch."""
    return Locale.parse(locale).display_name or locale
