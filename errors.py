"""One family for every error a person is meant to read.

Each layer raises a subclass of `RagchatError` whose message says what went wrong and what to do;
the class carries what a face needs to render it without knowing the layer: a stable message id
(`code`, also the API's error code), the CLI's exit status and the HTTP status. Each face renders
the family in one place (the CLIs' `main`, the API's error handler, the app's error box), so a new
error needs no new `except` clause anywhere.
"""

from __future__ import annotations


class RagchatError(Exception):
    """An error with a message for people; subclasses set the three class attributes."""

    code: str = "error"
    """A stable message id: the API's `error.code`, and the key a translated message uses."""
    exit_code: int = 1
    """What a CLI exits with: 1 refused or failed (the message says why)."""
    http_status: int = 400
    """What the API answers with: 4xx the request is at fault, 5xx the server is."""

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)
