"""One local model, many users: a first-come-first-served line for the model's single seat.

`llama_cpp.Llama` is not thread-safe: four questions asked at once on one model abort the
process (`GGML_ASSERT`, exit 134, measured), and on two cores an embedding batch beside a
generation slows both to a crawl. So every piece of local work (an answer with its retrieval,
an ingest) takes a ticket and runs only when its ticket is first in line. A plain lock would do
the excluding, but not the rest: a lock is not fair, cannot say how many are ahead, and must be
released by the thread that took it, while a streamed answer moves between threads (Streamlit
and the HTTP server call the generator from worker threads).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Ticket:
    """A place in the line; identity is all it carries."""


class ModelQueue:
    """A fair line: tickets are served in the order they joined, one at a time."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._line: list[Ticket] = []

    def join(self) -> Ticket:
        with self._changed:
            ticket = Ticket()
            self._line.append(ticket)
            return ticket

    def ahead(self, ticket: Ticket) -> int:
        """How many tickets will be served before this one (0: its turn)."""
        with self._changed:
            return self._line.index(ticket)

    def wait(self, ticket: Ticket, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the ticket's turn; True once it is first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._line[0] is ticket, timeout)

    def leave(self, ticket: Ticket) -> None:
        """Give up the seat or the place in line (idempotent): the next ticket goes on."""
        with self._changed:
            if ticket in self._line:
                self._line.remove(ticket)
                self._changed.notify_all()

    def __len__(self) -> int:
        with self._changed:
            return len(self._line)

    def positions(
        self, ticket: Ticket, cancelled: Callable[[], bool], poll_seconds: float = 0.2
    ) -> Iterator[int]:
        """Yield the number ahead of `ticket` whenever it changes, until its turn comes or
        `cancelled()` turns true (the caller tells which by `cancelled()`)."""
        reported = None
        while not self.wait(ticket, poll_seconds) and not cancelled():
            ahead = self.ahead(ticket)
            if ahead != reported:
                reported = ahead
                yield ahead

    @contextmanager
    def seat(self) -> Iterator[None]:
        """Hold the seat for a block of work that reports nothing while it waits (ingest)."""
        ticket = self.join()
        try:
            while not self.wait(ticket, 1.0):
                pass
            yield
        finally:
            self.leave(ticket)
