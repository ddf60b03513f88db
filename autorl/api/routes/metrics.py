"""``/metrics``: trial counts of the storage in Prometheus' text format (written by hand)."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from autorl.api import store
from autorl.api.deps import StorageDep
from autorl.api.errors import documented

reads = APIRouter(tags=["metrics"], responses=documented(503))

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(
    trials: Counter[str], failures: Counter[str], waiting: int, studies: Counter[str]
) -> str:
    lines = [
        "# HELP autorl_trials_total Trials of this storage's studies: finished (counted "
        "against budgets), running, failed (pruned included) by reason.",
        "# TYPE autorl_trials_total gauge",
    ]
    for state in ("finished", "running"):
        lines.append(f'autorl_trials_total{{state="{state}"}} {trials[state]}')
    for reason, count in sorted(failures.items()):
        lines.append(f'autorl_trials_total{{state="failed",reason="{_label(reason)}"}} {count}')
    lines += [
        "# HELP autorl_queue_depth Trials queued (WAITING) for a worker.",
        "# TYPE autorl_queue_depth gauge",
        f"autorl_queue_depth {waiting}",
        "# HELP autorl_studies Studies of this storage by state.",
        "# TYPE autorl_studies gauge",
    ]
    for state, count in sorted(studies.items()):
        lines.append(f'autorl_studies{{state="{_label(state)}"}} {count}')
    return "\n".join(lines) + "\n"


@reads.get("/metrics", response_class=PlainTextResponse)
def metrics(storage: StorageDep) -> PlainTextResponse:
    trials: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    studies: Counter[str] = Counter()
    waiting = 0
    for record in store.autorl_studies(storage):
        trials["finished"] += record.counts.finished
        trials["running"] += record.counts.running
        failures.update(record.counts.failures)
        waiting += record.counts.waiting
        studies[record.state] += 1
    return PlainTextResponse(render(trials, failures, waiting, studies), media_type=CONTENT_TYPE)
