"""Start several processes at one moment (a barrier) and collect their exit codes."""

from __future__ import annotations

import multiprocessing

from autorl.db import schema


def _ensure_in_child(url: str, barrier) -> None:
    barrier.wait(timeout=60)
    schema.ensure_schema(url)


def ensure_schema_at_once(url: str, processes: int) -> list[int | None]:
    """Exit codes of ``processes`` spawned processes that all call ``ensure_schema(url)``."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    procs = [ctx.Process(target=_ensure_in_child, args=(url, barrier)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    return [proc.exitcode for proc in procs]
