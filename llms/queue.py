"""One local model, many people: a fair line for the model's single seat.

`llama_cpp.Llama` is not thread-safe: four questions asked at once on one model abort the
process (`GGML_ASSERT`, exit 134, measured), and on two cores an embedding batch beside a
generation slows both to a crawl. So every piece of local work (an answer with its retrieval,
an ingest) takes a ticket and runs only when its ticket is first in line. A plain lock would do
the excluding, but not the rest: a lock is not fair, cannot say how many are ahead, and must be
released by the thread that took it, while a streamed answer moves between threads (Streamlit
and the HTTP server call the generator from worker threads).

Fair between people: the line takes turns between the people waiting (round robin), first come
first served within one person's requests, so one person's fifty questions do not starve
another's one. Each ticket gets a round: one more than its person's last ticket still in line,
and never earlier than the round being served; the line is ordered by round, then by arrival.
The ticket in the seat is never overtaken. A person may have `limit` requests waiting; one more
is refused with `QueueFull`, which says when to try again.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from bisect import insort
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from errors import RagchatError
from i18n import N_

FIRST_GUESS_SECONDS = 10.0
"""What one turn in the seat is taken to last before any has been measured."""


class QueueFull(RagchatError):
    """A person already has as many requests waiting as the line allows."""

    code = "queue_full"
    http_status = 429

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(
            N_(
                "the local model is busy: {waiting} of your requests are already waiting; "
                "try again in {seconds} s"
            ),
            waiting=waiting,
            seconds=retry_after,
        )
        self.retry_after = retry_after
        """Seconds until one of the person's waiting requests is likely done."""


class Ticket:
    """A place in the line: whose it is, its round, and when it arrived."""

    __slots__ = ("person", "round", "number", "seated_at")

    def __init__(self, person: str, round_: int, number: int) -> None:
        self.person, self.round, self.number = person, round_, number
        self.seated_at: float | None = None

    def __lt__(self, other: Ticket) -> bool:
        return (self.round, self.number) < (other.round, other.number)


class ModelQueue:
    """A fair line: one ticket at a time in the seat, the others in turn between people."""

    def __init__(self, limit: int | None = None) -> None:
        """`limit`: most tickets one person may have waiting (None: no limit)."""
        self.limit = limit
        self._changed = threading.Condition()
        self._line: list[Ticket] = []
        self._numbers = itertools.count()
        self._round = 0
        self._turn_seconds = FIRST_GUESS_SECONDS
        """A running mean of how long a turn in the seat lasts (for `QueueFull.retry_after`)."""

    def join(self, person: str = "") -> Ticket:
        """A place in line for `person`, or QueueFull when they already have `limit` waiting."""
        return self._join(person, bounded=True)

    def _join(self, person: str, bounded: bool) -> Ticket:
        with self._changed:
            theirs = [t for t in self._line if t.person == person]
            waiting = [t for t in theirs if t.seated_at is None]
            if bounded and self.limit is not None and len(waiting) >= self.limit:
                ahead_of_first = self._line.index(waiting[0])
                retry = math.ceil((ahead_of_first + 1) * self._turn_seconds)
                raise QueueFull(len(waiting), max(1, retry))
            last_round = max((t.round for t in theirs), default=0)
            ticket = Ticket(person, max(self._round, last_round + 1), next(self._numbers))
            if self._line:
                insort(self._line, ticket, lo=1)  # never before the ticket in the seat
            else:
                self._line.append(ticket)
                self._seat_first()
            return ticket

    def _seat_first(self) -> None:
        first = self._line[0]
        if first.seated_at is None:
            first.seated_at = time.monotonic()
            self._round = first.round

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
            if ticket not in self._line:
                return
            if ticket is self._line[0] and ticket.seated_at is not None:
                spent = time.monotonic() - ticket.seated_at
                self._turn_seconds = 0.8 * self._turn_seconds + 0.2 * spent
            self._line.remove(ticket)
            if self._line:
                self._seat_first()
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
    def seat(self, person: str = "") -> Iterator[None]:
        """Hold the seat for a block of work that reports nothing while it waits (ingest); never
        refused, since the work was already accepted."""
        ticket = self._join(person, bounded=False)
        try:
            while not self.wait(ticket, 1.0):
                pass
            yield
        finally:
            self.leave(ticket)
