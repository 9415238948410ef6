"""What Word, Excel and PowerPoint files (.docx, .xlsx, .pptx: zip archives of XML) share: the
ways such a file turns out not to be one, told in words a user understands."""

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loaders.errors import LoaderError

_ZIP_MAGIC = b"PK"
# Office saves a password-protected file, and saved every pre-2007 .doc/.xls/.ppt, as an OLE2
# compound file instead of a zip archive.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@contextmanager
def reading_office_file(path: Path, kind: str, old_suffix: str) -> Iterator[None]:
    """Check the file is a zip archive, then turn whatever its library raises while reading it
    (malformed XML, missing parts, odd values: many kinds) into a LoaderError."""
    with path.open("rb") as file:
        head = file.read(len(_OLE_MAGIC))
    if head == _OLE_MAGIC:
        raise LoaderError(
            f"password-protected {kind}, or an old {old_suffix} file renamed; "
            f"save it without a password in the {path.suffix.lower()} format"
        )
    if not head.startswith(_ZIP_MAGIC):
        raise LoaderError(f"not a valid {kind} (not a zip archive: another type of file renamed?)")
    if not zipfile.is_zipfile(path):
        raise LoaderError(f"corrupt or truncated {kind} (broken zip archive)")
    try:
        yield
    except (OSError, LoaderError):
        raise
    except zipfile.BadZipFile as err:
        raise LoaderError(f"corrupt or truncated {kind} (broken zip archive: {err})") from None
    except KeyError as err:  # zipfile's: a part the format requires is not in the archive
        raise LoaderError(f"incomplete {kind} ({err.args[0] if err.args else err})") from None
    except Exception as err:
        raise LoaderError(f"cannot read {kind} ({type(err).__name__}: {err})") from None
