"""The local model's line (`llms.queue`): fair, observable, cancellable, thread-agnostic."""

from __future__ import annotations

import threading
import time

from llms.queue import ModelQueue


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
