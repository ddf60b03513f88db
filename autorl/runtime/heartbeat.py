"""Keep a trial's heartbeat fresh while it trains, so other workers know it is alive."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from optuna.storages import RDBStorage

log = logging.getLogger(__name__)


@contextlib.contextmanager
def beating(beat: Callable[[], object], interval_s: float, what: str) -> Iterator[None]:
    """Call ``beat`` every ``interval_s`` seconds in a thread until the body ends; a failed
    beat (the database briefly unreachable) is logged and tried again at the next one."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                beat()
            except Exception:
                log.warning("could not record the heartbeat of %s", what, exc_info=True)

    thread = threading.Thread(target=loop, name=f"heartbeat {what}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval_s + 5)


@contextlib.contextmanager
def heartbeat(storage: RDBStorage, trial_id: int, interval_s: float) -> Iterator[None]:
    """Record a heartbeat now and every ``interval_s`` seconds until the body ends."""
    storage.record_heartbeat(trial_id)
    with beating(lambda: storage.record_heartbeat(trial_id), interval_s, f"trial id {trial_id}"):
        yield
