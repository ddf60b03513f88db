"""The report's sections, each a function of the study's data returning HTML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autorl.report import cost_figures, figures, fmt
from autorl.report.html import (
    Html,
    esc,
    figure,
    join,
    key_values,
    note,
    para,
    pre_json,
    section,
    table,
    tag,
)
from autorl.report.importance import Importances
from autorl.report.model import COMPLETE, FAILED, PRUNED, RUNNING, ReportData, TrialView
from autorl.study.config import VALIDATION_TRAIN_SEED, StudyConfig
from autorl.types import NOT_COUNTED

TOP_TRIALS = 10
MAX_FAILED_ROWS = 200
OPEN_FAILED_ROWS = 10  # more failed trials than this: the list starts folded
MAX_MESSAGE_CHARS = 4000

SECTIONS = (
    ("overview", "Study"),
    ("best", "Best configuration"),
    ("test", "Final test"),
    ("history", "Optimisation history"),
    ("importance", "Parameter importances"),
    ("curves", "Learning curves"),
    ("front", "Front: return against size"),
    ("failures", "Failures"),
    ("cost", "Cost"),
)
TITLES = dict(SECTIONS)


def _compute(data: ReportData) -> str:
    text = f"{fmt.number(data.seed_runs)} seed run(s)"
    taken = sum(t.taken_over for t in data.trials)
    if taken:
        text += f" (and {taken} taken over from killed trials, not trained again)"
    return (
        f"{text}, {fmt.number(data.env_steps)} env steps, {fmt.duration(data.wall_s)} "
        "wall-clock (all trials, failed and pruned included; summed over workers)"
    )


def _seed_rows(data: ReportData, config: StudyConfig) -> list[tuple[str, Any]]:
    """How many seeds each configuration trained on, and what that cost."""
    method = fmt.aggregate(config.aggregate)
    steps = fmt.number(config.timesteps)
    race = config.race
    if race is None:
        return [
            (
                "Seeds",
                f"every configuration on {config.seeds} seed(s); score = {method} of seed scores",
            ),
            (
                "Timesteps per trial",
                f"{steps} per seed {fmt.TIMES} {config.seeds} seed(s) = "
                f"{fmt.number(config.timesteps * config.seeds)}",
            ),
            ("Training seeds", fmt.seed_list(range(config.seeds))),
        ]
    return [
        (
            "Seeds",
            f"racing: a configuration earns up to {race.max_seeds} seeds while it may beat the "
            f"incumbent; the best needs {race.min_seeds}; score = {method} of seed scores "
            f"(optimism about seeds not yet run: z = {fmt.number(race.z)} seed-to-seed std)",
        ),
        (
            "Timesteps per seed run",
            f"{steps}; a configuration runs 1 to {race.max_seeds} seed runs, so the study's "
            f"cost is what it spent: {fmt.number(data.seed_runs)} seed run(s), "
            f"{fmt.number(data.env_steps)} env steps",
        ),
        ("Training seeds", f"{fmt.seed_list(range(race.max_seeds))}, taken in this order"),
    ]


def _test_setting(config: StudyConfig) -> str:
    if not config.validation_seeds:
        return "off"
    threshold = (
        fmt.number(config.threshold)
        if config.threshold is not None
        else "the environment's reward_threshold, if it has one"
    )
    return (
        f"{config.validation_seeds} test seed(s) "
        f"({fmt.seed_range(VALIDATION_TRAIN_SEED, config.validation_seeds)}), "
        f"{config.validation_episodes} episode(s) each; threshold: {threshold}"
    )


def overview(data: ReportData) -> Html:
    """Section 1: what was tuned, how far it got, what it cost, how trials were scored."""
    outcomes: dict[str, int] = {}
    for t in data.trials:
        outcomes[t.outcome] = outcomes.get(t.outcome, 0) + 1
    budget = "?" if data.budget is None else str(data.budget)
    rows: list[tuple[str, Any]] = [
        ("Trials finished / budget", f"{data.finished} / {budget}"),
        ("State", data.state),
        (
            "Trials by outcome",
            ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "no trials yet",
        ),
        ("Total compute", _compute(data)),
    ]
    if data.started:
        ended = data.ended.strftime("%Y-%m-%d %H:%M") if data.ended else fmt.DASH
        rows.append(
            ("First trial started / last ended", f"{data.started:%Y-%m-%d %H:%M} / {ended}")
        )
    config = data.config
    if config is None:
        body = [
            note(f"The study's settings are unknown: {data.config_problem}."),
            key_values(rows),
        ]
        return section("overview", f"Study {data.name}", *body)
    task = config.task
    head = [
        ("Environment (task)", task.env_id),
        ("Algorithm", config.algo.upper()),
    ]
    if task.family:
        head.append(("Task family", task.family))
    if task.entry_point:
        head.append(("Entry point", task.entry_point))
    if task.env_kwargs:
        head.append(("Env kwargs", pre_json(dict(task.env_kwargs))))
    if task.env_attrs:
        head.append(("Env attrs", pre_json(dict(task.env_attrs))))
    ev = config.evaluation
    rows = [
        *head,
        *rows,
        *_seed_rows(data, config),
        (
            "Evaluation",
            f"{ev.n_evaluations} evaluation(s) per run, {ev.episodes} episode(s) each, "
            f"episode seeds {fmt.episode_seeds(ev.seed, ev.episodes, ev.run_seed_step)}, "
            f"{'deterministic' if ev.deterministic else 'stochastic'} policy; "
            "a run's score is its last evaluation, a trial's score the "
            f"{fmt.aggregate(config.aggregate)} of its seeds' scores",
        ),
        ("Pruner", config.pruner),
        ("Final test", _test_setting(config)),
    ]
    title = f"Study {data.name}: {config.algo.upper()} on {task.env_id}"
    return section("overview", title, key_values(rows))


def history(data: ReportData) -> Html:
    fig = figures.history_figure(data)
    if fig is None:
        return section("history", TITLES["history"], note("The study has no trials yet."))
    text = (
        f"Each completed trial's score ({fmt.aggregate(data.aggregate)} of its seeds' scores, "
        "bar: std over seeds) and the best score so far among selectable trials. Pruned trials "
        "are drawn at the last evaluation they reported, which comes from earlier in training "
        "than a completed trial's score. The strip below gives every trial's outcome; grey "
        "squares do not count against the budget."
    )
    if any(t.outcome == COMPLETE and not t.selectable for t in data.trials):
        text += (
            " Open circles: completed trials with too few complete seed runs to be chosen "
            "(they lost their race)."
        )
    caption = para(text)
    return section("history", TITLES["history"], caption, figure(fig, "fig-history"))


def importance(imp: Importances) -> Html:
    body: list[Html] = []
    fig = figures.importance_figure(imp)
    if fig is None:
        body.append(note(imp.reason or "No parameter importances."))
    else:
        body.append(
            para(
                f"How much each parameter explains the score, estimated with {imp.evaluator} "
                f"from {imp.completed} completed trials. With few trials these estimates are "
                "noisy."
            )
        )
        body.append(figure(fig, "fig-importance"))
    if imp.excluded:
        body.append(para("Left out:"))
        body.append(
            tag(
                "ul",
                join((tag("li", f"{p}: {why}") for p, why in sorted(imp.excluded.items())), ""),
            )
        )
    for caveat in imp.caveats:
        body.append(note(f"Optuna: {caveat}"))
    return section("importance", TITLES["importance"], *body)


def curves(data: ReportData) -> Html:
    fig = figures.curves_figure(data)
    if fig is None:
        return section(
            "curves",
            TITLES["curves"],
            note("No trial has reported an evaluation yet, so there are no learning curves."),
        )
    partial = sum(1 for t in data.trials for c in t.curves if c.from_reports)
    text = (
        "Evaluation return during training, one line per trial and seed, against the env "
        "steps of that seed's run. Completed trials are blue, pruned trials grey and dashed, "
        "failed trials red and dotted; the best trial is orange. Click a legend entry to hide "
        "or show a group."
    )
    if data.config is not None and data.config.race is not None:
        text += (
            " Racing: a configuration has one line per seed it earned, so one that lost its "
            "race after its first seed has a single line."
        )
    if partial:
        text += (
            f" {partial} curve(s) of unfinished seeds were rebuilt from the values reported "
            "to Optuna."
        )
    return section("curves", TITLES["curves"], para(text), figure(fig, "fig-curves"))


def _failed_rows(trials: Sequence[TrialView]) -> list[list[Any]]:
    rows = []
    for t in trials[:MAX_FAILED_ROWS]:
        message = t.message[:MAX_MESSAGE_CHARS] or fmt.DASH
        rows.append(
            [
                str(t.number),
                t.reason or fmt.DASH,
                "no" if t.reason in NOT_COUNTED else "yes",
                fmt.duration(t.wall_s),
                Html(f'<pre class="message">{esc(message)}</pre>'),
            ]
        )
    return rows


def failures(data: ReportData) -> Html:
    fig = cost_figures.failures_figure(data)
    if fig is None:
        return section("failures", TITLES["failures"], note("No trial failed or was pruned."))
    failed = [t for t in data.trials if t.outcome == FAILED]
    pruned = data.failures.get(PRUNED, 0)
    body: list[Html] = [
        para(
            "Trials without a score, by reason. Pruned trials were stopped early by the pruner "
            "(not a fault of the configuration). Killed (worker died, configuration re-queued) "
            "and infeasible (never trained) trials do not count against the budget."
        ),
        figure(fig, "fig-failures"),
    ]
    if failed:
        listing = table(
            ["trial", "reason", "counts", "wall-clock", "message"],
            _failed_rows(failed),
            class_="failures",
        )
        if len(failed) > MAX_FAILED_ROWS:
            listing = Html(note(f"The first {MAX_FAILED_ROWS} are listed.") + listing)
        summary = tag("summary", tag("h3", f"Failed trials ({len(failed)})"))
        opened = ' open=""' if len(failed) <= OPEN_FAILED_ROWS else ""
        body.append(Html(f"<details{opened}>{summary}{listing}</details>"))
    else:
        body.append(para("No trial failed."))
    if pruned:
        body.append(para(f"{pruned} trial(s) were pruned."))
    return section("failures", TITLES["failures"], *body)


def cost(data: ReportData) -> Html:
    fig = cost_figures.cost_figure(data)
    if fig is None:
        return section(
            "cost", TITLES["cost"], note("No trial has recorded its wall-clock time yet.")
        )
    spent: dict[str, float] = {}
    for t in data.trials:
        spent[t.outcome] = spent.get(t.outcome, 0.0) + (t.wall_s or 0.0)
    total = sum(spent.values())
    shares = ", ".join(
        f"{o} {100 * s / total:.0f}%"
        for o, s in sorted(spent.items(), key=lambda kv: -kv[1])
        if s > 0
    )
    text = (
        "Wall-clock time of each trial against its score (pruned trials at their last "
        "evaluation; failed trials have no score and appear only in the totals). The best "
        "trial is orange."
    )
    if total > 0:
        text += f" Share of wall-clock by outcome: {shares}."
    if any(t.outcome == RUNNING for t in data.trials):
        text += " Running trials are not finished: their time is not counted yet."
    return section("cost", TITLES["cost"], para(text), figure(fig, "fig-cost"))
