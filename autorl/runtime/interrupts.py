"""Hold SIGINT / SIGTERM over a short critical section, then deliver them.

A worker stopped while it claims a trial must not leave that trial RUNNING without knowing
it owns it; deferring the signal until the claim returns makes the hand-over atomic.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

DEFERRED = (signal.SIGINT, signal.SIGTERM)


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
