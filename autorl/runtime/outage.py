"""Riding out a database outage inside a trial: training goes on, its result waits to be stored.

A worker's trial talks to the database at each evaluation (the report and the pruning
decision) and when it ends (its attributes and the tell). If the database goes away in
between, an evaluation that cannot be reported is skipped (the trial is not pruned on it), and
the writes at the end are retried with backoff until the database is back, so a trial that
trains through an outage is stored, not re-run. Errors that are not an outage propagate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from autorl.study.storage import is_unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_WAIT_S = 900.0
MAX_DELAY_S = 60.0


class Backoff:
    """The waits between tries while the database is away: 1 s, 2 s, 4 s ... 60 s (the one
    schedule of a trial's writes and of the worker loop)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.delay, self.waited = 1.0, 0.0

    def next(self) -> float:
        """The wait before the next try (and counts it as waited)."""
        delay = self.delay
        self.waited += delay
        self.delay = min(MAX_DELAY_S, delay * 2)
        return delay


def retry_on_outage(what: str, write: Callable[[], T], max_wait_s: float = MAX_WAIT_S) -> T:
    """``write()``, retried on the ``Backoff`` schedule while the database is unreachable."""
    backoff = Backoff()
    while True:
        try:
            return write()
        except Exception as exc:
            if not is_unreachable(exc) or backoff.waited >= max_wait_s:
                raise
            delay = backoff.next()
            log.warning("%s: database unreachable; retrying in %.0f s", what, delay)
            time.sleep(delay)


def unless_outage(what: str, call: Callable[[], T], default: T) -> T:
    """``call()``, or ``default`` (logged) when the database is unreachable."""
    try:
        return call()
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        log.warning("%s skipped: database unreachable", what)
        return default
