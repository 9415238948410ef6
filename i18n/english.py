"""`python -m i18n.english` (run by `make i18n-update`): the English catalogue says every message
as the code writes it, so that English is as complete as any translation and a translator's
`.po` tools show it as done. Returns how many entries it filled."""

from __future__ import annotations

from babel.messages.pofile import read_po, write_po

from i18n.translate import DOMAIN, LOCALES


def fill_english() -> int:
    path = LOCALES / "en" / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as file:
        catalogue = read_po(file, locale="en")
    filled = 0
    for message in catalogue:
        if message.id and (message.fuzzy or not _complete(message.string)):
            message.string = message.id
            message.flags.discard("fuzzy")
            filled += 1
    with path.open("wb") as file:
        write_po(file, catalogue, omit_header=False, no_location=True, width=100)
    return filled


def _complete(string: str | tuple[str, ...]) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


if __name__ == "__main__":
    print(f"English catalogue: {fill_english()} entries filled")
