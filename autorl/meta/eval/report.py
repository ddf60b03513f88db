"""Run the leave-one-task-out comparison on a table and write its table and plot."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from autorl.errors import UsageError
from autorl.meta.eval.evaluation import (
    Arm,
    ArmSummary,
    leave_one_task_out,
    random_search,
    summarize,
)
from autorl.meta.eval.offline import prior_tpe_search, tpe_search
from autorl.meta.strategies import STRATEGIES
from autorl.meta.table import Table

SEARCHERS = {"tpe": tpe_search, "random": random_search, "prior-tpe": prior_tpe_search}


def default_arms(
    proposals: int, history: Table | None, history_tasks: int | None = None
) -> list[Arm]:
    arms = [Arm("cold-tpe", "tpe"), Arm("cold-random", "random")]
    for name in STRATEGIES:
        arms.append(Arm(f"warm-{name}", "tpe", name, proposals, history_tasks=history_tasks))
    for name in STRATEGIES:
        arms.append(
            Arm(f"warm-{name}+prior", "prior-tpe", name, proposals, history_tasks=history_tasks)
        )
    if history is not None:
        arms += [
            Arm(f"warm-{name}+prior-other-history", "prior-tpe", name, proposals, history)
            for name in STRATEGIES
        ]
        # what the fallback protects against: the other family's results taken at full weight
        arms += [
            Arm(f"warm-{name}+prior-other-trusted", "prior-tpe", name, proposals, history, True)
            for name in STRATEGIES
        ]
    return arms


def _markdown(
    summaries: list[ArmSummary], n_trials: int, table: Table, threshold: float | None
) -> str:
    regret_cols = sorted({t for s in summaries for t in s.regret_at})
    head = [
        "arm",
        "reached",
        "median trials to threshold",
        *[f"regret@{t}" for t in regret_cols],
        "first-3 hit",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        median = f"{s.median_trials_to_threshold:g}" + (
            " (censored)" if s.median_trials_to_threshold > n_trials else ""
        )
        cells = [
            s.arm,
            f"{s.reached}/{s.runs}",
            median,
            *[f"{s.regret_at[t]:.4f}" for t in regret_cols],
            f"{s.first3_hit_rate:.0%}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    thresholds = ", ".join(
        f"{name} {table.threshold(name) if threshold is None else threshold:g}"
        for name in table.tasks
    )
    lines.append("")
    lines.append(f"Thresholds: {thresholds}. Pool: {len(table.common_configs())} configurations.")
    return "\n".join(lines) + "\n"


def _plot(results, n_trials: int, path: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    for arm in dict.fromkeys(r.arm for r in results):
        runs = [r for r in results if r.arm == arm]
        curve = [statistics.fmean(r.regret[t] for r in runs) for t in range(n_trials)]
        fig.add_trace(
            go.Scatter(x=list(range(1, n_trials + 1)), y=curve, mode="lines+markers", name=arm)
        )
    fig.update_layout(
        title="Normalised regret, leave one task out (mean over tasks and repetitions)",
        xaxis_title="trials",
        yaxis_title="normalised regret (0 = best configuration in the table)",
    )
    fig.write_html(path, include_plotlyjs="cdn", full_html=True)  # small enough to commit


def run_and_report(
    table: Table,
    n_trials: int,
    reps: int,
    proposals: int,
    history: Table | None,
    out: Path,
    history_tasks: int | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    if len(table.tasks) < 2:
        raise UsageError("leave-one-task-out needs a table with at least two tasks")
    pool = len(table.common_configs())
    if pool < n_trials:
        raise UsageError(
            f"--trials {n_trials} is more than the {pool} configurations scored on every task"
        )
    arms = default_arms(proposals, history, history_tasks)
    results = leave_one_task_out(table, arms, SEARCHERS, n_trials, reps, threshold=threshold)
    summaries = summarize(results, n_trials)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "trials": n_trials,
        "reps": reps,
        "proposals": proposals,
        "history_tasks": history_tasks,
        "threshold": threshold,
        "pool": pool,
        "tasks": list(table.tasks),
        "arms": [s.__dict__ for s in summaries],
    }
    (out / "results.json").write_text(
        json.dumps({**summary, "runs": [r.__dict__ for r in results]}, indent=1, default=list)
    )
    (out / "results.md").write_text(_markdown(summaries, n_trials, table, threshold))
    _plot(results, n_trials, out / "regret.html")
    return summary
