"""Ctrl-C and SIGTERM: the same meaning at every moment forklab's code is loaded.

While a command runs, a signal unwinds it, so containers are removed and no
report is left half written (exit 130 or 143).  Before a command starts,
nothing needs undoing: exit at once.  Once it has finished, its work is done
and written, and a late signal changes nothing.  Standard library only, and
light, because tasks.py installs this before anything else is imported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Iterator


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so the same cleanup runs."""


class _State:
    busy = False
    finished = False
    #: Inside ``deferred()``: a signal is kept here and raised when the block ends.
    deferring = 0
    pending: "int | None" = None


state = _State()


def _on_signal(signum: int, frame: object) -> None:
    if state.finished:
        return
    if state.busy and state.deferring:
        state.pending = signum
        return
    if state.busy:
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()
    # Nothing has started yet (Invoke is still reading the command line).
    sys.stderr.write("forklab: interrupted before anything started\n")
    sys.stderr.flush()
    os._exit(130 if signum == signal.SIGINT else 143)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a Ctrl-C or SIGTERM until the block is done, then raise it: for a request the engine
    carries out whether or not the caller reads its answer (a container being created would
    otherwise be made after the host, interrupted, tried to remove it)."""
    state.deferring += 1
    try:
        yield
    finally:
        state.deferring -= 1
        if not state.deferring and state.pending is not None:
            signum, state.pending = state.pending, None
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()


def unwound(exc: BaseException) -> tuple[int, str]:
    """The exit code and one line for a command that a Ctrl-C (KeyboardInterrupt) or SIGTERM unwound."""
    if isinstance(exc, Terminated):
        return 143, "forklab: terminated; the containers were removed and earlier reports are untouched"
    return 130, "forklab: interrupted; the containers were removed and earlier reports are untouched"


def install_signal_handlers() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
