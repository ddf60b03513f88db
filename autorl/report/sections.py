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
from autorl.search.study_config import VALIDATION_TRAIN_SEED, StudyConfig

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
    ("failures", "Failures"),
    ("cost", "Cost"),
)
TITLES = dict(SECTIONS)


def _seed_list(seeds: Sequence[Any]) -> str:
    return ", ".join(str(s) for s in seeds) if seeds else fmt.DASH


def _seed_range(first: int, count: int) -> str:
    return str(first) if count == 1 else f"{first}{fmt.DASH}{first + count - 1}"


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
            ("Training seeds", _seed_list(range(config.seeds))),
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
        ("Training seeds", f"{_seed_list(range(race.max_seeds))}, taken in this order"),
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
        f"({_seed_range(VALIDATION_TRAIN_SEED, config.validation_seeds)}), "
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
            f"episode seeds {_seed_range(ev.seed, ev.episodes)}, "
            f"{'deterministic' if ev.deterministic else 'stochastic'} policy; "
            "a run's score is its last evaluation, a trial's score the "
            f"{fmt.aggregate(config.aggregate)} of its seeds' scores",
        ),
        ("Pruner", config.pruner),
        ("Final test", _test_setting(config)),
    ]
    title = f"Study {data.name}: {config.algo.upper()} on {task.env_id}"
    return section("overview", title, key_values(rows))


def _per_seed(entries: Sequence[dict[str, Any]]) -> str:
    parts = []
    for k, s in enumerate(entries):
        text = f"seed {s.get('seed', k)}: {fmt.number(s.get('score'))}"
        if s.get("pruned"):
            text += " (pruned)"
        if s.get("from_trial") is not None:
            text += f" (from trial {s['from_trial']})"
        parts.append(text)
    return ", ".join(parts)


def _aggregate_score(value: float | None, std: float | None, method: str) -> str:
    """``mean ± std`` for the mean, else the aggregate alone (the std is given beside it)."""
    return fmt.score(value, std) if method == "mean" else fmt.number(value)


def _selection_score(data: ReportData, best: TrialView) -> Html:
    seeds = data.best_seeds
    method = data.aggregate
    parts = [tag("strong", _aggregate_score(best.value, best.score_std, method))]
    if method == "mean":
        text = f" — mean ± std over {len(seeds) or '?'} training seed(s)"
    else:
        text = f" — {fmt.aggregate(method)} of {len(seeds) or '?'} training seed(s)"
    if seeds:
        text += f" ({_per_seed(seeds)})"
    if method != "mean" and best.score_std is not None:
        text += f", std {fmt.number(best.score_std)}"
    if data.config:
        ev = data.config.evaluation
        text += (
            f"; each seed scored on {ev.episodes} evaluation episode(s) with episode seeds "
            f"{_seed_range(ev.seed, ev.episodes)}"
        )
    text += ". The study chose this trial by this score, so it is optimistic (the best of many)."
    parts.append(esc(text))
    return Html("".join(parts))


def _test_score(data: ReportData, best: TrialView) -> Html:
    """One line about the final test; the details are in their own section."""
    record = data.validation
    if not record:
        return esc("not tested yet: no score on unseen test seeds is stored (see Final test)")
    scores = record.get("scores") or []
    method = record.get("aggregate") or data.aggregate
    if record.get("score") is not None:
        value, what = fmt.number(record["score"]), f"{fmt.aggregate(method)} of"
    else:  # records made before racing: the mean
        value, what = fmt.score(record.get("mean"), record.get("std")), "mean ± std over"
    text = f" — {what} {len(scores)} test seed(s) no choice used (see Final test)"
    if record.get("trial") != best.number:
        text += f"; of trial {record.get('trial')}, no longer the best"
    return Html(tag("strong", value if scores else fmt.DASH) + esc(text))


def _seeds_run(trial: TrialView) -> str:
    text = f"{trial.seed_runs} seed run(s)"
    if trial.taken_over:
        text += f", {trial.taken_over} taken over from a killed trial"
    return f"{text}; {trial.race}" if trial.race else text


def _top_trials(data: ReportData) -> Html:
    done = sorted(
        (t for t in data.trials if t.outcome == COMPLETE and t.value is not None),
        key=lambda t: t.value or 0.0,
        reverse=True,
    )[:TOP_TRIALS]
    if len(done) < 2:
        return Html("")
    names = sorted({p for t in done for p in t.params})
    raced = any(t.race for t in done)
    rows = [
        [
            str(t.number),
            _aggregate_score(t.value, t.score_std, data.aggregate),
            str(t.seed_runs),
            "yes" if t.selectable else "no",
            fmt.duration(t.wall_s),
            *(fmt.param(t.params[n]) if n in t.params else fmt.DASH for n in names),
            *([t.race or fmt.DASH] if raced else []),
        ]
        for t in done
    ]
    headers = [
        "trial",
        "score" if data.aggregate == "mean" else f"score ({data.aggregate})",
        "seed runs",
        "selectable",
        "wall-clock",
        *names,
        *(["race"] if raced else []),
    ]
    body = [
        tag("h3", f"Top {len(done)} completed trials"),
        Html('<div class="scroll">' + table(headers, rows, class_="compact") + "</div>"),
    ]
    if any(not t.selectable for t in done):
        need = data.config.min_seeds if data.config else "enough"
        body.append(
            para(
                f"A trial that is not selectable ran fewer than {need} complete seed run(s): "
                "its score rests on too few seeds, and it cannot be the study's best."
            )
        )
    if raced:
        body.append(para("race: why the trial ran no more seeds."))
    return join(body)


def best_configuration(data: ReportData) -> Html:
    """Section 2: the best trial, its scores with their provenance, its configuration."""
    best = data.best
    if best is None:
        if any(t.outcome == COMPLETE for t in data.trials):
            need = data.config.min_seeds if data.config else "enough"
            text = (
                f"No completed trial is selectable yet (each ran fewer than {need} complete "
                "seed run(s)), so there is no best configuration."
            )
        else:
            text = "No trial has completed yet, so there is no best configuration."
        return section("best", TITLES["best"], note(text))
    rows: list[tuple[str, Any]] = [
        ("Trial", str(best.number)),
        ("Selection score", _selection_score(data, best)),
        ("Final test score", _test_score(data, best)),
        ("Seeds", _seeds_run(best)),
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


def _test_seeds(record: dict[str, Any]) -> str:
    """Every test seed's score (``failed`` where its run failed)."""
    scores = record.get("scores") or []
    seeds = record.get("train_seeds") or []
    if len(seeds) != len(scores):
        return ", ".join(fmt.number(s, "failed") for s in scores) or fmt.DASH
    return ", ".join(
        f"seed {seed}: {fmt.number(s, 'failed')}" for seed, s in zip(seeds, scores, strict=True)
    )


def _threshold(record: dict[str, Any]) -> str | None:
    """``k of n test seeds reach the threshold T``; None for records without a threshold."""
    if "threshold" not in record:
        return None
    threshold = record.get("threshold")
    if threshold is None:
        return "none: the study set no threshold and the environment registers none"
    text = f"threshold {fmt.number(threshold)}"
    fraction = record.get("solved_fraction")
    n = len(record.get("scores") or [])
    if isinstance(fraction, (int, float)) and n:
        text = f"{round(fraction * n)} of {n} test seeds reach the {text}"
    return text


def _test_rows(data: ReportData, record: dict[str, Any]) -> list[tuple[str, Any]]:
    method = record.get("aggregate") or data.aggregate
    selection = record.get("selection_score", record.get("tuning_score"))
    train = record.get("selection_seeds")
    scores = record.get("scores") or []
    tested = [s for s in scores if s is not None]
    on = f" training seeds {_seed_list(train)}" if train else " its training seeds"
    rows: list[tuple[str, Any]] = [
        ("Trial tested", str(record.get("trial", fmt.DASH))),
        (
            "Selection score",
            Html(
                tag("strong", fmt.number(selection))
                + esc(f" — {fmt.aggregate(method)} over{on}, the score it was chosen by")
            ),
        ),
    ]
    if "score" in record:
        rows.append(
            (
                "Test score",
                Html(
                    tag("strong", fmt.number(record.get("score")))
                    + esc(f" — {fmt.aggregate(method)} over {len(tested)} test seed(s)")
                ),
            )
        )
    mean = fmt.score(record.get("mean"), record.get("std")) if scores else fmt.DASH
    ci = fmt.interval(record.get("ci95"))
    rows.append(
        (
            "Mean over test seeds",
            f"{mean} (mean ± std)" + (f"; 95% interval of the mean {ci}" if ci else ""),
        )
    )
    if record.get("iqm") is not None and method != "iqm":
        rows.append(("IQM over test seeds", fmt.number(record["iqm"])))
    rows.append(("Every test seed", _test_seeds(record)))
    if "worst" in record:
        rows.append(("Worst test seed", fmt.number(record.get("worst"))))
    threshold = _threshold(record)
    if threshold:
        rows.append(("Threshold", threshold))
    episodes = record.get("episodes")
    eval_seed = record.get("eval_seed")
    runs = f"test seeds {_seed_list(record.get('train_seeds') or [])}"
    if record.get("timesteps"):
        runs += f", {fmt.number(record['timesteps'])} timesteps each"
    runs += f", each evaluated on {episodes} episode(s)"
    if isinstance(eval_seed, int) and isinstance(episodes, int):
        runs += f" with episode seeds {_seed_range(eval_seed, episodes)}"
    rows.append(("Test runs", runs))
    failures = record.get("failures") or []
    if failures:
        rows.append(("Failed test runs", tag("ul", join((tag("li", f) for f in failures), ""))))
    return rows


def final_test(data: ReportData) -> Html:
    """Section 3: the chosen configuration trained again on seeds no choice used."""
    record = data.validation
    best = data.best
    if not record:
        if best is None:
            text = "No configuration has been chosen yet, so none has been tested."
        elif data.config is not None and not data.config.validation_seeds:
            text = "The study's final test is off (0 test seeds)."
        else:
            text = (
                f"Not tested yet: the chosen configuration (trial {best.number}) has no score "
                "on unseen test seeds yet."
            )
        return section("test", TITLES["test"], note(text))
    trial = record.get("trial")
    body: list[Html] = [
        para(
            f"Trial {trial} was chosen by its selection score on its training seeds, then "
            "trained again on test seeds no choice used: no trial was chosen, pruned or raced "
            "with them, and their episodes are seeded from a range no tuning evaluation used. "
            "The test score is therefore an unbiased estimate of what the configuration does "
            "on a new seed; the selection score, the best of many trials, tends to be "
            "optimistic."
        ),
        key_values(_test_rows(data, record)),
    ]
    if best is not None and trial != best.number:
        body.append(
            note(
                f"Trial {trial} is no longer the best trial; trial {best.number} has not been "
                "tested on unseen seeds yet."
            )
        )
    return section("test", TITLES["test"], *body)


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
