"""The report's sections on the chosen configuration: how it was selected (its seeds and
scores, the top trials) and its final test on seeds no choice used."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autorl.report import fmt
from autorl.report.html import (
    Html,
    esc,
    join,
    key_values,
    note,
    para,
    pre_json,
    section,
    table,
    tag,
)
from autorl.report.model import COMPLETE, ReportData, TrialView
from autorl.report.sections import TITLES, TOP_TRIALS


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
            f"{fmt.episode_seeds(ev.seed, ev.episodes, ev.run_seed_step)}"
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
    on = f" training seeds {fmt.seed_list(train)}" if train else " its training seeds"
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
    runs = f"test seeds {fmt.seed_list(record.get('train_seeds') or [])}"
    if record.get("timesteps"):
        runs += f", {fmt.number(record['timesteps'])} timesteps each"
    runs += f", each evaluated on {episodes} episode(s)"
    if isinstance(eval_seed, int) and isinstance(episodes, int):
        step = int(record.get("eval_seed_step", 0))
        runs += f" with episode seeds {fmt.episode_seeds(eval_seed, episodes, step, 'test seed')}"
    rows.append(("Test runs", runs))
    failures = record.get("failures") or []
    if failures:
        rows.append(("Failed test runs", tag("ul", join((tag("li", f) for f in failures), ""))))
    return rows


def _final_choice(data: ReportData) -> list[Html]:
    """The final choice among the top trials, when the study made one."""
    final = data.final
    if not final or not final.get("finalists"):
        return []
    seeds, episodes = final.get("seeds") or [], final.get("episodes")
    method = fmt.aggregate(final.get("aggregate", data.aggregate))
    rows = [
        [
            str(f["trial"]) + (" (chosen)" if f["trial"] == final.get("chosen") else ""),
            fmt.number(f.get("selection_score")),
            ", ".join(fmt.number(s) for s in f.get("train_scores", [])),
            ", ".join(fmt.DASH if s is None else fmt.number(s) for s in f["final_scores"]),
            fmt.number(f.get("score")),
        ]
        for f in final["finalists"]
    ]
    text = (
        f"Once the budget was reached, the top {len(rows)} trials were trained on "
        f"{len(seeds)} more seed(s) ({fmt.seed_list(seeds)}, each evaluated on {episodes} "
        f"episode(s) with episode seeds "
        f"{fmt.episode_seeds(final['eval_seed'], episodes, final['eval_seed_step'], 'seed')}), "
        f"the same for every finalist, and the best {method} over all its seeds (training "
        f"and final) was published; {fmt.number(final.get('env_steps', 0))} env steps. "
        "A finalist with a failed final run ranks below every finalist without one. The test "
        "seeds below were used by neither choice."
    )
    headers = ["Trial", "Selection", "Training seeds", "Final seeds", "Over all seeds"]
    return [para(text), table(headers, rows)]


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
    how = (
        "the final choice above"
        if record.get("final_choice")
        else "its selection score on its training seeds"
    )
    body: list[Html] = [
        *_final_choice(data),
        para(
            f"Trial {trial} was chosen by {how}, then "
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
