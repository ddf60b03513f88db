"""``autorl studies``, ``autorl best`` and ``autorl report``: reading stored results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from autorl.cli.common import add_storage, print_table, shown_url, storage_url
from autorl.errors import UsageError

if TYPE_CHECKING:  # Optuna is imported by the handlers: `autorl --help` stays instant
    import optuna

    from autorl.study.queries import BestConfig

FORMATS = ("json", "yaml", "zoo", "python")


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("studies", help="list stored studies")
    add_storage(s)
    s.set_defaults(handler=cmd_studies, uses_optuna=False)

    b = sub.add_parser(
        "best", help="print the best configuration of a study, or of each task of a family"
    )
    b.add_argument("study", nargs="?", help="a study name (or use --family)")
    b.add_argument("--family", help="each task's best and one configuration for the family")
    b.add_argument("--algo", help="with --family: the algorithm (if it was tuned with several)")
    b.add_argument(
        "--format",
        choices=sorted(FORMATS),
        help="default json (with --pareto: a table; json for the data)",
    )
    b.add_argument("--trial", type=int, help="a chosen trial instead of the best")
    b.add_argument(
        "--pareto",
        action="store_true",
        help="the front of return against size or latency (studies tuned with --objectives)",
    )
    b.add_argument(
        "--schedule",
        action="store_true",
        help="a population-based training run's winner: its hyperparameters over time",
    )
    add_storage(b)
    b.set_defaults(handler=cmd_best)

    r = sub.add_parser("report", help="write an HTML report of a study")
    r.add_argument("study")
    r.add_argument("--out", type=Path, default=None, help="default: STUDY.html")
    add_storage(r)
    r.set_defaults(handler=cmd_report)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def cmd_studies(args: argparse.Namespace) -> int:
    # A bare engine, not Optuna's storage: listing reads counts in SQL (autorl.study.listing)
    from sqlalchemy.exc import InterfaceError, OperationalError

    from autorl.db.engine import get_engine, unreachable
    from autorl.study.listing import list_studies

    url = storage_url(args)
    try:
        rows = list_studies(get_engine(url))
    except (OperationalError, InterfaceError) as exc:
        raise unreachable(url, exc) from exc
    if not rows:
        print(f"no studies in {shown_url(url)}")
        return 0
    header = ("study", "env", "algo", "state", "trials", "best", "validated")
    table = [
        (r.name, r.env_id, r.algo, r.state, f"{r.done}/{r.budget}", _fmt(r.best), _fmt(r.validated))
        for r in rows
    ]
    print_table(header, table)
    return 0


def _load(args: argparse.Namespace) -> tuple[optuna.Study, str]:
    from autorl.study.factory import load_study
    from autorl.study.storage import open_storage

    url = storage_url(args)
    study, _ = load_study(args.study, open_storage(url))
    return study, url


def cmd_best(args: argparse.Namespace) -> int:
    from autorl.cli.formats import render
    from autorl.study.queries import best_config

    if args.family:
        args.format = args.format or "json"
        return _family_best(args)
    if not args.study:
        raise UsageError("give a study name, or --family NAME")
    if args.schedule:
        from autorl.cli.pbt import print_schedule

        return print_schedule(args.study, storage_url(args), args.format)
    if args.pareto and args.format not in (None, "json"):
        raise UsageError(f"--pareto prints a table or, with --format json, JSON: not {args.format}")
    study, url = _load(args)
    if args.pareto:
        return _print_front(study, url, args.format)
    best = best_config(study, shown_url(url), args.trial)
    print(render(best, args.format or "json", _action_dims(url, study.study_name)))
    return 0


def _print_front(study: optuna.Study, url: str, fmt: str) -> int:
    import json

    from autorl import db
    from autorl.study.queries import pareto

    front = pareto(study, db.study_random_return(url, study.study_name))
    if fmt == "json":
        print(json.dumps(front.to_dict(), indent=2))
        return 0
    print(
        f"front of {front.study}: return (aggregate of training seeds) against {front.objective}"
        f"; kept: share of the best's return above the {front.floor_from}'s ({front.floor:.1f})"
    )
    rows = [
        (
            p.trial,
            "-" if p.params is None else f"{p.params:,}",
            "-" if p.latency_us is None else f"{p.latency_us:.0f}",
            f"{p.score:.1f}",
            ", ".join(f"{s:.1f}" for s in p.seed_scores),
            "-" if p.kept is None else f"{p.kept:.1%}",
            json.dumps(p.net_arch),
        )
        for p in front.points
    ]
    print_table(("trial", "params", "µs/action", "score", "seeds", "kept", "net_arch"), rows)
    return 0


def _action_dims(url: str, study_name: str) -> int | None:
    """The number of action dimensions of the study's task, where it was probed."""
    import math

    from autorl import db

    link = db.get_study_link(url, study_name)
    record = db.get_task(url, link.task_key) if link else None
    if record is None or record.features is None:
        return None
    return math.prod(record.features.action.shape) if record.features.action.shape else 1


def _family_best(args: argparse.Namespace) -> int:
    import json

    import yaml

    from autorl.cli.formats import render
    from autorl.knowledge.family_best import family_best

    result = family_best(storage_url(args), args.family, args.algo)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, default=str))
    elif args.format == "yaml":
        print(
            yaml.safe_dump(json.loads(json.dumps(result.to_dict(), default=str)), sort_keys=False)
        )
    elif result.recommended is None:
        raise UsageError(f"family {args.family} has no configuration measured on its tasks yet")
    else:
        rec = result.recommended
        scores = ", ".join(
            f"{t} {s:.1f}" if s is not None else f"{t} failed" for t, s in rec.per_task.items()
        )
        print(
            f"# family {result.family}: recommended configuration, measured on "
            f"{rec.measured_on}/{rec.tasks} tasks: {scores}"
        )
        print(render(rec.example, args.format))
    return 0


def _seeds(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def _step(step: int, run: str) -> str:
    """How the episode seeds shift from one run to the next, if they do."""
    return f", +{step} per further {run}" if step else ""


def describe(best: BestConfig) -> list[str]:
    """Human-readable lines: the selection score with its seeds and episodes, then the test
    on unseen seeds (the published score)."""
    ev = best.evaluation
    first = ev["first_episode_seed"]
    per_seed = ", ".join(f"{s:.1f}" for s in best.seed_scores)
    lines = [
        f"best trial {best.trial} of study {best.study}: selection score {_fmt(best.score)} "
        f"({best.aggregate} of training seeds [{_seeds(best.train_seeds)}]: {per_seed}; "
        f"{ev['episodes']} evaluation episodes seeded {first}..{first + ev['episodes'] - 1}"
        f"{_step(ev.get('episode_seed_step', 0), 'seed run')}, {best.timesteps} steps)"
    ]
    if not best.selectable:
        lines.append(
            f"  not selectable as the study's best: {best.race or 'too few complete seed runs'}"
        )
    if best.final:
        lines.append(final_line(best.final, best.trial))
    v = best.validation
    if v and v.get("mean") is not None:
        lines.append(test_line(v))
    env = best.config.get("env", {})
    lines.append(f"trained with {best.config['algo']} kwargs: {best.config['sb3_kwargs']}")
    lines.append(
        f"env: n_envs={env.get('n_envs')}, normalize_obs={env.get('normalize_obs')}, "
        f"normalize_reward={env.get('normalize_reward')}"
    )
    lines.append(
        f"stored in {best.storage} (study {best.study}); "
        f"`autorl best {best.study} --format zoo` exports it"
    )
    return lines


def final_line(final: dict, chosen: int) -> str:
    """The final choice: each finalist's score over training and final seeds."""
    seeds, episodes = final["seeds"], final["episodes"]
    entries = []
    for f in final["finalists"]:
        runs = ", ".join("failed" if s is None else f"{s:.1f}" for s in f["final_scores"])
        mark = " (chosen)" if f["trial"] == chosen else ""
        entries.append(f"trial {f['trial']}{mark} {_fmt(f['score'])} [{runs}]")
    return (
        f"final choice among the top {len(final['finalists'])} on {len(seeds)} more seeds "
        f"[{_seeds(seeds)}] ({episodes} episodes each, seeded from {final['eval_seed']}, "
        f"each seed its own; {final['aggregate']} over training and final seeds): "
        + "; ".join(entries)
    )


def test_line(v: dict) -> str:
    """The final test: the score on unseen seeds, every seed's, and the threshold reached."""
    scores = v.get("scores") or []
    per_seed = ", ".join("failed" if s is None else f"{s:.1f}" for s in scores)
    method = v.get("aggregate", "mean")
    score = v.get("score", v["mean"])
    shift = _step(v.get("eval_seed_step", 0), "test seed")
    text = (
        f"test on unseen seeds [{_seeds(v['train_seeds'])}] "
        f"({v['episodes']} episodes each, seeded from {v['eval_seed']}{shift}; "
        "no choice used them): "
        f"{method} {_fmt(score)}"
    )
    if method != "mean":
        text += f", mean {_fmt(v['mean'])}"
    if v.get("ci95"):
        low, high = v["ci95"]
        text += f" (95% CI {low:.1f}..{high:.1f})"
    text += f"; per seed: {per_seed}"
    if v.get("threshold") is not None and v.get("solved_fraction") is not None:
        reached = round(v["solved_fraction"] * len(scores))
        text += f"; {reached} of {len(scores)} reach the threshold {v['threshold']:g}"
    return text


def print_best(study: optuna.Study, url: str) -> None:
    from autorl.errors import StudyError
    from autorl.study.accounting import failure_counts, total_compute
    from autorl.study.queries import best_config

    trials = study.get_trials(deepcopy=False)
    compute = total_compute(trials)
    failures = failure_counts(trials)
    runs = sum(1 for t in trials for s in t.user_attrs.get("seeds") or [] if "from_trial" not in s)
    print(
        f"{len(trials)} trials ({runs} seed runs) used {compute['env_steps']:,} env steps and "
        f"{compute['wall_s'] / 60:.1f} min of trial time"
        + (f"; without a score: {failures}" if failures else "")
    )
    try:
        best = best_config(study, shown_url(url))
    except StudyError as exc:  # no completed trial: say so instead of failing the run
        print(str(exc))
        return
    print("\n".join(describe(best)))


def cmd_report(args: argparse.Namespace) -> int:
    from autorl.db import population
    from autorl.report import write_report

    url = storage_url(args)
    run = population.get_run(url, args.study)
    if run is not None:  # a population-based training run
        from autorl.report.population import write_population_report

        path = write_population_report(url, run, args.out or Path(f"{args.study}.html"))
        print(f"wrote {path}")
        return 0
    study, _ = _load(args)
    out = args.out or Path(f"{args.study}.html")
    path = write_report(study, out)
    print(f"wrote {path}")
    return 0
