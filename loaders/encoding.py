"""Bytes to text for plain-text formats: UTF-8 (with or without BOM), UTF-16 with BOM,
GB18030/GBK (Chinese notes saved on Windows), then charset-normalizer's best guess.

Strict decoders are tried first because they are fast and exact on large files; the statistical
guess only runs on what they reject.
"""

import codecs

from charset_normalizer import from_bytes

from i18n import N_
from loaders.errors import LoaderError

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_STRICT_CANDIDATES = ("utf-8", "gb18030")
_SNIFF_BYTES = 8192


def decode_text(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name), or raise LoaderError for binary or undecodable data."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise LoaderError(N_("looks like a binary file (NUL bytes), not text"))
    for encoding in _STRICT_CANDIDATES:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "gb18030" or _plausible_chinese(text):
            return text, encoding
    guess = from_bytes(data).best()
    if guess is None:
        raise LoaderError(N_("unknown text encoding (not UTF-8, GB18030 or any other detected)"))
    return str(guess), guess.encoding


def _plausible_chinese(text: str) -> bool:
    """GB18030 accepts many Latin-1 files too (an accented letter and the ASCII letter after it
    form a valid pair), but real Chinese text rarely has a pair whose second byte is ASCII."""
    pairs = [ch.encode("gb18030") for ch in text[:_SNIFF_BYTES] if not ch.isascii()]
    two_byte = [pair for pair in pairs if len(pair) == 2]
    ascii_trail = sum(1 for pair in two_byte if pair[1] < 0x80)
    return ascii_trail <= 0.2 * len(two_byte)


def looks_binary(text: str) -> bool:
    """Many control characters mean the bytes were not really text."""
    sample = text[:_SNIFF_BYTES]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls / len(sample) > 0.05
