"""What Word, Excel and PowerPoint files (.docx, .xlsx, .pptx: zip archives of XML) share: the
ways such a file turns out not to be one, told in words a user understands."""

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from errors import Message
from i18n import N_
from loaders.errors import LoaderError

_ZIP_MAGIC = b"PK"
# Office saves a password-protected file, and saved every pre-2007 .doc/.xls/.ppt, as an OLE2
# compound file instead of a zip archive.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
KINDS = (N_("Word document"), N_("Excel workbook"), N_("PowerPoint presentation"))
"""The kinds of file the loaders name (`kind`), marked here for the catalogue: a message says
"corrupt or truncated Word document" in the reader's language."""


@contextmanager
def reading_office_file(path: Path, kind: str, old_suffix: str) -> Iterator[None]:
    """Check the file is a zip archive, then turn whatever its library raises while reading it
    (malformed XML, missing parts, odd values: many kinds) into a LoaderError."""
    named = Message(kind)
    with path.open("rb") as file:
        head = file.read(len(_OLE_MAGIC))
    if head == _OLE_MAGIC:
        raise LoaderError(
            N_(
                "password-protected {kind}, or an old {old_suffix} file renamed; "
                "save it without a password in the {suffix} format"
            ),
            kind=named,
            old_suffix=old_suffix,
            suffix=path.suffix.lower(),
        )
    if not head.startswith(_ZIP_MAGIC):
        raise LoaderError(
            N_("not a valid {kind} (not a zip archive: another type of file renamed?)"),
            kind=named,
        )
    if not zipfile.is_zipfile(path):
        raise LoaderError(N_("corrupt or truncated {kind} (broken zip archive)"), kind=named)
    try:
        yield
    except (OSError, LoaderError):
        raise
    except zipfile.BadZipFile as err:
        raise LoaderError(
            N_("corrupt or truncated {kind} (broken zip archive: {error})"), kind=named, error=err
        ) from None
    except KeyError as err:  # zipfile's: a part the format requires is not in the archive
        part = err.args[0] if err.args else err
        raise LoaderError(N_("incomplete {kind} ({part})"), kind=named, part=part) from None
    except Exception as err:
        raise LoaderError(
            N_("cannot read {kind} ({error_kind}: {error})"),
            kind=named,
            error_kind=type(err).__name__,
            error=err,
        ) from None
