"""Answers that are expensive to compute and change only when trials finish, cached.

A family's best configurations read every completed trial of its studies (seconds at
thousands of trials). The answer changes only when a trial finishes or a study's attributes
change, which a cheap SQL fingerprint detects (``autorl.study.stats.study_counts``). A request whose
fingerprint matches the cached one is answered from memory. When it does not, the last
answer is served at once, marked stale with the time it was computed, while one background
thread recomputes it (stale-while-revalidate: a busy family, where trials finish every few
seconds, never makes a request wait for the recomputation). Only the very first request for
a key computes in the foreground.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cached:
    value: dict[str, Any]
    fingerprint: Hashable
    computed_at: float  # time.time()
    stale: bool  # computed from older data; a fresh answer is being computed


class ResultCache:
    """One cached answer per key, refreshed by at most one background thread per key."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[Hashable, float, dict[str, Any]]] = {}
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, fingerprint: Hashable, compute: Callable[[], dict[str, Any]]
    ) -> Cached:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] != fingerprint and key not in self._refreshing:
                self._refreshing.add(key)
                threading.Thread(
                    target=self._refresh, args=(key, fingerprint, compute), daemon=True
                ).start()
        if entry is None:
            value = compute()
            self._store(key, fingerprint, value)
            return Cached(value, fingerprint, time.time(), stale=False)
        stored, at, value = entry
        return Cached(value, stored, at, stale=stored != fingerprint)

    def _refresh(
        self, key: Hashable, fingerprint: Hashable, compute: Callable[[], dict[str, Any]]
    ) -> None:
        try:
            self._store(key, fingerprint, compute())
        except Exception:  # the stale answer stays; the next request tries again
            log.exception("recomputing %r failed; serving the previous answer", key)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _store(self, key: Hashable, fingerprint: Hashable, value: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (fingerprint, time.time(), value)
