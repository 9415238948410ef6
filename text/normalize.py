"""Text clean-up shared by every loader: NFKC and whitespace, keeping paragraph breaks.

NFKC matters for Chinese notes: text copied from PDFs or web pages often holds Kangxi-radical
code points (U+2F00-U+2FDF, e.g. '⽅' for '方') and full-width forms that look right but never
match what a user types.
"""

import re
import unicodedata

# NFKC maps the Kangxi radicals (U+2F00-U+2FDF) but not the CJK Radicals Supplement, whose
# simplified-form radicals also turn up in copied notes (e.g. "很⻓" for "很长"). These are the
# whole-character ones, after Unicode's EquivalentUnifiedIdeograph.txt.
_RADICAL_SUPPLEMENT = str.maketrans(
    {
        "\u2ec5": "见",
        "\u2ec6": "角",
        "\u2ec9": "贝",
        "\u2ecb": "车",
        "\u2ed3": "长",
        "\u2ed4": "门",
        "\u2ed9": "韦",
        "\u2eda": "页",
        "\u2edb": "风",
        "\u2edc": "飞",
        "\u2ee2": "马",
        "\u2ee5": "鱼",
        "\u2ee6": "鸟",
        "\u2ee7": "卤",
        "\u2ee8": "麦",
        "\u2ee9": "黄",
        "\u2eec": "齐",
        "\u2eee": "齿",
        "\u2ef0": "龙",
        "\u2ef3": "龟",
    }
)
# Zero-width characters, and control characters other than whitespace: pypdf reads some PDFs
# (fpdf2's Chinese ones, whose font encoding is an embedded CMap) with a NUL before each character.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0e-\x1b\x7f]")
_SPACES = re.compile(r"[^\S\n]+")  # runs of whitespace other than newlines
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFKC (plus simplified radicals), no invisible characters, single spaces, at most one
    blank line in a row."""
    text = unicodedata.normalize("NFKC", text).translate(_RADICAL_SUPPLEMENT)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()
