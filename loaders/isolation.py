"""Each file is loaded in a worker process under a time and a memory limit, so a loader that
crashes, hangs or floods memory costs one failed file, never the whole ingest.

One worker serves a whole ingest and is replaced only after it was killed for taking too long,
ran out of memory or died. It is a fresh interpreter that imports only the loaders, started by
`subprocess` rather than `multiprocessing`: a fork would copy the parent's torch threads in an
unsafe state, and `spawn` re-imports the program's main module in the child, which under
Streamlit is the whole app. One socket pair joins the two, with `multiprocessing`'s framing.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
from langchain_core.documents import Document

from errors import Message
from i18n import N_
from loaders import LoaderError, load_document

if TYPE_CHECKING:  # the worker need not build the settings models
    from config import IngestSettings

Load = Callable[[Path, str], Document]
"""How the worker reads one file. It is sent to the worker by reference (module and name), so a
stand-in must be a module-level function; the worker imports its module itself, so anything
patched in the parent is not patched there."""

_BOOTSTRAP = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); sys.path[:] = sys.argv[2:]; "
    "from loaders.isolation import serve; serve(int(sys.argv[1]))"
)
"""The worker's command: Ctrl-C is the parent's to handle, and the parent's module path is used."""
_INTERPRETER = "/proc/self/exe" if Path("/proc/self/exe").exists() else sys.executable
"""The running interpreter's own file, started again as `sys.executable` (so it finds its
virtual environment). On Linux through /proc, which reaches it even where its path cannot be
walked: a program that started with more rights than it kept (`setpriv`, `su`) may not be able
to open the folders on the way any more."""
_START_TIMEOUT_S = 60.0
"""Longest wait for a new worker to be ready (it imports the loaders)."""
_STOP_GRACE_S = 1.0
"""How long an idle worker gets to exit on its own before it is killed."""


class IsolatedLoader:
    """`load(path, source)` run in a worker process under `settings`' per-file limits.

    Use it as a context manager, so the worker is stopped when the ingest ends. One instance
    belongs to one thread (each ingest makes its own); any thread may make one."""

    def __init__(self, settings: IngestSettings, load: Load = load_document) -> None:
        self._settings = settings
        self._load = load
        self._worker: _Worker | None = None

    def __enter__(self) -> IsolatedLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def load(self, path: Path, source: str) -> Document:
        """The file's Document, or LoaderError saying what went wrong, whatever it was."""
        if self._worker is None:
            self._worker = _Worker(self._load, self._settings.file_memory_mb)
        worker = self._worker
        try:
            worker.conn.send((path, source))
            if not worker.conn.poll(self._settings.file_timeout_s):
                self.close(kill=True)
                raise LoaderError(
                    N_("took longer than {seconds} s"), seconds=f"{self._settings.file_timeout_s:g}"
                )
            kind, value = worker.conn.recv()
        except (EOFError, OSError):
            self.close()
            raise LoaderError(N_("loader crashed: {reason}"), reason=worker.exit_reason()) from None
        if kind == "memory":
            self.close()  # a fresh heap for the next file
            raise LoaderError(
                N_("needed more than {megabytes} MB of memory"),
                megabytes=self._settings.file_memory_mb,
            )
        if kind == "failed":
            template, params = value
            raise LoaderError(template, **params)
        return value

    def close(self, kill: bool = False) -> None:
        """Stop the worker, if there is one; `kill` when it is stuck or no longer to be trusted."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(grace=0.0 if kill else _STOP_GRACE_S)


class _Worker:
    """One worker process and the parent's end of its socket; ready once constructed."""

    def __init__(self, load: Load, memory_mb: int) -> None:
        self.conn, child_end = multiprocessing.Pipe()
        with child_end:
            fd = child_end.fileno()
            try:
                self.process = subprocess.Popen(
                    [sys.executable, "-c", _BOOTSTRAP, str(fd), *sys.path],
                    executable=_INTERPRETER,
                    pass_fds=[fd],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,  # a chatty library must not write into our output
                )
            except OSError as err:
                self.conn.close()
                raise LoaderError(f"loader process did not start ({err})") from None
        try:
            self.conn.send((load, memory_mb))
            ready = self.conn.poll(_START_TIMEOUT_S) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop(grace=_STOP_GRACE_S)
            raise LoaderError(f"loader process did not start ({self.exit_reason()})")

    def stop(self, grace: float) -> None:
        """Closing the socket tells an idle worker to exit; one still busy after `grace` is
        killed. Either way it is waited for, so no zombie is left."""
        self.conn.close()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def exit_reason(self) -> str:
        """Why the worker stopped answering, once it has been stopped."""
        code = self.process.returncode
        if code is not None and code < 0:
            return f"its process was killed by {signal.Signals(-code).name}"
        return f"its process exited with status {code}"


def serve(fd: int) -> None:
    """The worker: answer (path, source) requests on socket `fd` until the parent closes it."""
    conn = Connection(fd)
    load, memory_mb = conn.recv()
    _limit_memory(memory_mb)
    conn.send("ready")
    while True:
        try:
            path, source = conn.recv()
        except EOFError:
            return
        reply = _attempt(load, path, source)
        try:
            conn.send(reply)
        except MemoryError:  # pickling a huge Document can need the memory it just filled
            conn.send(("memory", None))


def _limit_memory(memory_mb: int) -> None:
    """Let loading map `memory_mb` more address space than the idle worker holds; beyond it,
    allocations fail (a MemoryError in Python code)."""
    idle = psutil.Process().memory_info().vms
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = idle + memory_mb * 2**20
    resource.setrlimit(
        resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard)
    )


def _attempt(load: Load, path: Path, source: str) -> tuple[str, Any]:
    """("ok", Document), ("failed", (message id, parameters as text)) or ("memory", None):
    never an exception (the parent raises the LoaderError again, translatable)."""
    try:
        return "ok", load(path, source)
    except LoaderError as err:
        if _out_of_memory(err):
            return "memory", None
        params = {
            name: value if isinstance(value, Message) else str(value)  # nested ids stay ids
            for name, value in err.params.items()
        }
        return "failed", (err.template, params)
    except MemoryError:
        return "memory", None
    except Exception as err:  # a loader's bug costs its file, not the worker
        crashed = {"kind": type(err).__name__, "error": str(err)}
        return "failed", (N_("loader crashed: {kind}: {error}"), crashed)


def _out_of_memory(err: BaseException | None) -> bool:
    """Whether a MemoryError is behind `err`: readers that turn every error of their library into
    a LoaderError (`except Exception`) turn running out of memory into one too."""
    while err is not None:
        if isinstance(err, MemoryError):
            return True
        err = err.__cause__ or err.__context__
    return False
