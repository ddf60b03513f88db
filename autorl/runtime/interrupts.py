"""Signals: SIGTERM stops a run as Ctrl-C does, and SIGINT / SIGTERM can be held over a short
critical section, then delivered.

A worker stopped while it claims a trial must not leave that trial RUNNING without knowing
it owns it; deferring the signal until the claim returns makes the hand-over atomic.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from autorl.stop import request_stop

DEFERRED = (signal.SIGINT, signal.SIGTERM)


def _interrupt(*_: object) -> None:
    request_stop()  # raised again by the training loop if this exception is swallowed
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block SIGTERM stops the run like Ctrl-C (KeyboardInterrupt, and a stop
    request the training loop honours): the running trial is re-queued."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Run the block with SIGINT/SIGTERM held; re-deliver any that arrived once it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set (and signals only arrive) in the main thread
        return
    pending: list[tuple[int, FrameType | None]] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append((signum, frame))

    previous = {signum: signal.signal(signum, hold) for signum in DEFERRED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum, frame in pending:
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)
