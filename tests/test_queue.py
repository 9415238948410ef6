"""The local model's line (`llms.queue`): fair, observable, cancellable, thread-agnostic."""

from __future__ import annotations

import threading
import time

import pytest

from llms.queue import ModelQueue, QueueFull


def test_tickets_are_served_in_the_order_they_joined():
    queue = ModelQueue()
    first, second, third = queue.join(), queue.join(), queue.join()
    assert [queue.ahead(t) for t in (first, second, third)] == [0, 1, 2]
    assert queue.wait(first, 0) and not queue.wait(second, 0.01)
    queue.leave(first)
    assert queue.wait(second, 0) and queue.ahead(third) == 1


def test_leaving_the_line_early_moves_everyone_behind_up():
    queue = ModelQueue()
    seated, cancelled, waiting = queue.join(), queue.join(), queue.join()
    queue.leave(cancelled)
    queue.leave(cancelled)  # idempotent
    assert queue.ahead(waiting) == 1 and len(queue) == 2
    queue.leave(seated)
    assert queue.wait(waiting, 0)


def test_a_seat_taken_in_one_thread_is_given_back_from_another():
    """A streamed answer starts in one worker thread and may end in another."""
    queue = ModelQueue()
    ticket = queue.join()
    threading.Thread(target=queue.leave, args=(ticket,)).start()
    follower = queue.join()
    assert queue.wait(follower, 5)


def test_positions_count_down_and_stop_when_cancelled():
    queue = ModelQueue()
    seated, _ahead_of_us = queue.join(), queue.join()
    ours = queue.join()
    seen: list[int] = []
    cancel = threading.Event()

    def watch() -> None:
        seen.extend(queue.positions(ours, cancel.is_set, poll_seconds=0.01))

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(0.1)
    queue.leave(seated)
    time.sleep(0.1)
    cancel.set()
    watcher.join(5)
    assert seen == [2, 1] and not watcher.is_alive()


def test_many_threads_never_hold_the_seat_at_once():
    queue = ModelQueue()
    inside, most, order = [0], [0], []
    lock = threading.Lock()

    def work(number: int) -> None:
        with queue.seat():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                order.append(number)
            time.sleep(0.005)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == 1 and sorted(order) == list(range(16)) and len(queue) == 0


def test_people_take_turns_and_one_persons_order_is_kept():
    """One person's eight queued requests do not starve another's one: it is served after at
    most one of them (the one in the seat), and each person's own requests keep their order."""
    queue = ModelQueue()
    hers = [queue.join("ana") for _ in range(8)]
    his = queue.join("bo")
    assert queue.ahead(his) == 1
    later = [queue.join("bo"), queue.join("cy")]
    order = [hers[0], his, later[1], hers[1], later[0], *hers[2:]]
    assert [queue.ahead(t) for t in order] == list(range(len(order)))


def test_the_ticket_in_the_seat_is_never_overtaken():
    queue = ModelQueue()
    seated = queue.join("ana")
    assert queue.wait(seated, 0)
    newcomer = queue.join("bo")
    assert queue.ahead(seated) == 0 and queue.ahead(newcomer) == 1
    queue.leave(seated)
    assert queue.wait(newcomer, 0)


def test_a_person_past_the_limit_is_told_when_to_come_back():
    queue = ModelQueue(limit=2)
    seated, first, second = queue.join("ana"), queue.join("ana"), queue.join("ana")
    with pytest.raises(QueueFull) as refused:
        queue.join("ana")
    assert refused.value.http_status == 429 and refused.value.retry_after >= 1
    assert "2 of your requests" in str(refused.value)
    bo = queue.join("bo")  # someone else still gets in, and is next
    queue.leave(seated)
    queue.leave(bo)
    assert queue.wait(first, 0)
    assert queue.join("ana")  # `first` took the seat: one fewer waiting
    assert second


def test_accepted_work_is_never_refused():
    """An ingest already accepted waits for the seat even when its person is at the limit."""
    queue = ModelQueue(limit=1)
    earlier = [queue.join("ana"), queue.join("ana")]  # one in the seat, one waiting
    indexed = threading.Event()

    def ingest() -> None:
        with queue.seat("ana"):
            indexed.set()

    worker = threading.Thread(target=ingest)
    worker.start()
    for ticket in earlier:
        queue.leave(ticket)
    worker.join(5)
    assert indexed.is_set() and len(queue) == 0


def test_fair_share_under_threads():
    """Real threads: ana floods the line, bo asks once; bo's turn comes second."""
    queue = ModelQueue()
    served: list[str] = []
    lock = threading.Lock()
    ana_seated = threading.Event()

    def ask(person: str) -> None:
        ticket = queue.join(person)
        while not queue.wait(ticket, 1.0):
            pass
        with lock:
            served.append(person)
        ana_seated.set()
        time.sleep(0.2)
        queue.leave(ticket)

    threads = [threading.Thread(target=ask, args=("ana",)) for _ in range(8)]
    threads[0].start()
    ana_seated.wait(5)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.05)  # ana's other seven are waiting
    bo = threading.Thread(target=ask, args=("bo",))
    bo.start()
    for thread in [*threads, bo]:
        thread.join(10)
    assert served.index("bo") == 1 and len(served) == 9
