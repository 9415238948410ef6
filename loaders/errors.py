"""The one error a loader raises: its message is the reason shown to the user."""


class LoaderError(Exception):
    """A file that cannot be turned into text; the message says why."""
