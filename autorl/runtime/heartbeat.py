"""Keep a trial's heartbeat fresh while it trains, so other workers know it is alive."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from optuna.storages import RDBStorage

log = logging.getLogger(__name__)


@contextlib.contextmanager
def heartbeat(storage: RDBStorage, trial_id: int, interval_s: float) -> Iterator[None]:
    """Record a heartbeat now and every ``interval_s`` seconds until the body ends."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval_s):
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # the database may be briefly unreachable; try again next beat
                log.warning("could not record heartbeat of trial id %d", trial_id, exc_info=True)

    storage.record_heartbeat(trial_id)
    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval_s + 5)
