"""One family for every error a person is meant to read.

Each layer raises a subclass of `RagchatError` whose message says what went wrong and what to do;
the class carries what a face needs to render it without knowing the layer: a stable message id
(`code`, also the API's error code), the CLI's exit status and the HTTP status. Each face renders
the family in one place (the CLIs' `main`, the API's error handler, the app's error box), so a new
error needs no new `except` clause anywhere.

The message is an English template marked for the catalogue with its named parameters beside it,
so that each face renders it in the reader's language (`i18n.explain`) and a raise stays one line:

    raise IndexNotFoundError(N_("No index at {path}: run {command}"), path=path, command=cmd)

`str(err)` and `err.message` are the English text (logs, and the API unless asked otherwise).
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (gettext's name for the marker)
    """Mark `message` for the catalogue without translating it yet (`i18n._` translates it
    where it is shown). Here, at the bottom, so that `config` can mark its messages too."""
    return message


class Message:
    """A message id with its named parameters, for a message built in parts: an error's
    parameter may be one, and is translated with it (`i18n.explain`). `str()` is English."""

    def __init__(self, template: str, **params: object) -> None:
        self.template, self.params = template, params

    def __str__(self) -> str:
        return self.template.format(**self.params) if self.params else self.template


class RagchatError(Exception):
    """An error with a message for people; subclasses set the three class attributes."""

    code: str = "error"
    """A stable message id: the API's `error.code`, and the key a translated message uses."""
    exit_code: int = 1
    """What a CLI exits with: 1 refused or failed (the message says why)."""
    http_status: int = 400
    """What the API answers with: 4xx the request is at fault, 5xx the server is."""

    def __init__(self, message: str = "", *, code: str | None = None, **params: object) -> None:
        self.template, self.params = message, params
        super().__init__(message.format(**params) if params else message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The English message, its parameters filled in."""
        return str(self)
