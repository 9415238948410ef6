"""Text clean-up shared by every loader: NFKC and whitespace, keeping paragraph breaks.

NFKC matters for Chinese notes: text copied from PDFs or web pages often holds Kangxi-radical
code points (U+2F00-U+2FDF, e.g. '⽅' for '方') and full-width forms that look right but never
match what a user types.
"""

import re
import unicodedata

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[^\S\n]+")  # runs of whitespace other than newlines
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFKC, drop invisible characters, collapse spaces, keep at most one blank line in a row."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()
