"""The one error a loader raises: its message is the reason shown to the user."""

from errors import RagchatError


class LoaderError(RagchatError):
    """A file that cannot be turned into text; the message says why."""

    code = "unreadable_file"
