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
from autorl.search.accounting import NOT_COUNTED

TOP_TRIALS = 10
MAX_FAILED_ROWS = 200
OPEN_FAILED_ROWS = 10  # more failed trials than this: the list starts folded
MAX_MESSAGE_CHARS = 4000

SECTIONS = (
    ("overview", "Study"),
    ("best", "Best configuration"),
    ("history", "Optimisation history"),
    ("importance", "Parameter importances"),
    ("curves", "Learning curves"),
    ("failures", "Failures"),
    ("cost", "Cost"),
)
TITLES = dict(SECTIONS)


def _seed_list(seeds: Sequence[Any]) -> str:
    return ", ".join(str(s) for s in seeds) if seeds else fmt.DASH


def _seed_range(first: int, count: int) -> str:
    return str(first) if count == 1 else f"{first}{fmt.DASH}{first + count - 1}"


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
        (
            "Total compute",
            f"{fmt.number(data.env_steps)} env steps, {fmt.duration(data.wall_s)} wall-clock "
            "(all trials, failed and pruned included; summed over workers)",
        ),
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
        (
            "Timesteps per trial",
            f"{fmt.number(config.timesteps)} per seed {fmt.TIMES} {config.seeds} seed(s) = "
            f"{fmt.number(config.timesteps * config.seeds)}",
        ),
        ("Training seeds", _seed_list(range(config.seeds))),
        (
            "Evaluation",
            f"{ev.n_evaluations} evaluation(s) per run, {ev.episodes} episode(s) each, "
            f"episode seeds {_seed_range(ev.seed, ev.episodes)}, "
            f"{'deterministic' if ev.deterministic else 'stochastic'} policy; "
            "a run's score is its last evaluation, a trial's score the mean over its seeds",
        ),
        ("Pruner", config.pruner),
        (
            "Validation",
            f"{config.validation_seeds} held-out seed(s), {config.validation_episodes} episode(s)"
            if config.validation_seeds
            else "off",
        ),
    ]
    title = f"Study {data.name}: {config.algo.upper()} on {task.env_id}"
    return section("overview", title, key_values(rows))


def _tuning_score(data: ReportData, best: TrialView) -> Html:
    seeds = data.best_seeds
    per_seed = ", ".join(
        f"seed {s.get('seed', k)}: {fmt.number(s.get('score'))}" for k, s in enumerate(seeds)
    )
    parts = [tag("strong", fmt.score(best.value, best.score_std))]
    text = f" — mean ± std over {len(seeds) or '?'} training seed(s)"
    if per_seed:
        text += f" ({per_seed})"
    if data.config:
        ev = data.config.evaluation
        text += (
            f"; each seed scored on {ev.episodes} evaluation episode(s) with episode seeds "
            f"{_seed_range(ev.seed, ev.episodes)}"
        )
    parts.append(esc(text))
    return Html("".join(parts))


def _validated_score(data: ReportData, best: TrialView) -> tuple[str, Html]:
    record = data.validation
    label = "Validated score (held-out seeds)"
    if not record:
        return label, esc("not validated yet: no score on held-out seeds is stored")
    trial = record.get("trial")
    scores = record.get("scores") or []
    seeds = record.get("train_seeds") or []
    episodes = record.get("episodes")
    eval_seed = record.get("eval_seed")
    text = (
        f" — mean ± std over held-out training seeds {_seed_list(seeds)} "
        f"(per-seed scores: {', '.join(fmt.number(s, 'failed') for s in scores) or fmt.DASH}), "
        f"each evaluated on {episodes} episode(s)"
    )
    if isinstance(eval_seed, int) and isinstance(episodes, int):
        text += f" with episode seeds {_seed_range(eval_seed, episodes)}"
    if record.get("timesteps"):
        text += f", {fmt.number(record['timesteps'])} timesteps each"
    markup = tag("strong", fmt.score(record.get("mean"), record.get("std")) if scores else fmt.DASH)
    body = Html(markup + esc(text))
    failures = record.get("failures") or []
    if failures:
        body = Html(body + tag("ul", join((tag("li", f) for f in failures), "")))
    if trial != best.number:
        label = f"Validated score of trial {trial} (held-out seeds)"
        body = Html(
            body
            + note(
                f"Trial {trial} is no longer the best trial; trial {best.number} has not been "
                "validated on held-out seeds yet."
            )
        )
    return label, body


def _top_trials(data: ReportData) -> Html:
    done = sorted(
        (t for t in data.trials if t.outcome == COMPLETE and t.value is not None),
        key=lambda t: t.value or 0.0,
        reverse=True,
    )[:TOP_TRIALS]
    if len(done) < 2:
        return Html("")
    names = sorted({p for t in done for p in t.params})
    rows = [
        [
            str(t.number),
            fmt.score(t.value, t.score_std),
            fmt.duration(t.wall_s),
            *(fmt.param(t.params[n]) if n in t.params else fmt.DASH for n in names),
        ]
        for t in done
    ]
    return join(
        [
            tag("h3", f"Top {len(done)} completed trials"),
            Html(
                '<div class="scroll">'
                + table(["trial", "score", "wall-clock", *names], rows, class_="compact")
                + "</div>"
            ),
        ]
    )


def best_configuration(data: ReportData) -> Html:
    """Section 2: the best trial, its scores with their provenance, its configuration."""
    best = data.best
    if best is None:
        return section(
            "best",
            TITLES["best"],
            note("No trial has completed yet, so there is no best configuration."),
        )
    validated_label, validated = _validated_score(data, best)
    rows: list[tuple[str, Any]] = [
        ("Trial", str(best.number)),
        ("Tuning score", _tuning_score(data, best)),
        (validated_label, validated),
        ("Wall-clock", fmt.duration(best.wall_s)),
        ("Env steps", fmt.number(best.env_steps)),
    ]
    if best.source:
        rows.append(("Source", best.source))
    params = (
        table(["parameter", "value"], [[k, fmt.param(v)] for k, v in sorted(best.params.items())])
        if best.params
        else note("This trial sampled no parameters.")
    )
    body: list[Html] = [
        key_values(rows),
        tag("h3", "Sampled parameters"),
        params,
    ]
    if data.best_repairs:
        body += [
            tag("h3", "Constraint repairs"),
            para("The constraints changed the sampled parameters before training:"),
            tag("ul", join((tag("li", r) for r in data.best_repairs), "")),
        ]
    body.append(tag("h3", "Configuration trained (SB3 kwargs)"))
    body.append(
        pre_json(data.best_config)
        if data.best_config
        else note("The trial has no stored configuration.")
    )
    body.append(_top_trials(data))
    return section("best", TITLES["best"], *body)


def history(data: ReportData) -> Html:
    fig = figures.history_figure(data)
    if fig is None:
        return section("history", TITLES["history"], note("The study has no trials yet."))
    caption = para(
        "Each completed trial's score (mean over seeds, bar: std over seeds) and the best score "
        "so far. Pruned trials are drawn at the last evaluation they reported, which comes from "
        "earlier in training than a completed trial's score. The strip below gives every "
        "trial's outcome; grey squares do not count against the budget."
    )
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
