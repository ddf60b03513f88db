"""Transfer, live: warm starts from one-seed knowledge against warm starts from racing knowledge.

Family ``pendulum-physics`` (autorl/families/files/pendulum-physics.yaml), SAC at 10k steps.
The knowledge is the reproduce benchmark's studies of the family's default task, Pendulum-v1
(``benchmarks/search/state/reproduce.db``, protocol v2, every sampler seed there): arm
``one-seed`` imports only its one-seed studies (the selection before racing, run to the same
env steps as the racing study), arm ``racing`` only its racing studies; ``cold`` imports
nothing. The held-out tasks are other variants of the family, which no knowledge has seen.

For each held-out task and arm: a fresh SQLite file, the arm's knowledge imported, then a
racing study of ``--trials`` configurations (autorl's defaults: warm start on, up to half the
budget as proposals, tried first) on 2 workers. Figures per run:
- every warm-start proposal's seed scores on the held-out task, and how many of its seed runs
  fail outright: a normalised score (s - random) / (threshold - random) below FAILED, i.e.
  near the random policy's return (the random return is probed by autorl, 20 episodes);
- the first trial (1-based, in trial order) whose first seed run reaches the threshold, and
  the first selectable one whose aggregate does (warm must never be later than cold);
- env steps.

Resumable: one SQLite file per (task, arm) in ``state/transfer/``; finished runs are kept in
``transfer.json`` and skipped. Usage:
  .venv/bin/python benchmarks/meta/transfer.py [--tasks m-1.3,g-12] [--trials 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "transfer.json"
STATE = HERE / "state" / "transfer"
SOURCE = f"sqlite:///{ROOT / 'benchmarks' / 'search' / 'state' / 'reproduce.db'}"
FAMILY = ROOT / "autorl" / "families" / "files" / "pendulum-physics.yaml"
ARMS = {"cold": None, "one-seed": "pendulum-one-seed-", "racing": "pendulum-racing-"}
TIMESTEPS, THRESHOLD, FAILED = 10_000, -200.0, 0.1  # FAILED: normalised score, near random
log = logging.getLogger("transfer")


def knowledge(prefix: str, path: Path) -> dict[str, int]:
    """A knowledge-base file holding only the protocol-2 studies whose names start with
    ``prefix`` (and every task), written to ``path``; the counts it holds."""
    from autorl.knowledge.kb import export_kb

    whole = path.with_suffix(".all.jsonl")
    export_kb(SOURCE, whole)
    lines = [json.loads(text) for text in whole.read_text().splitlines() if text.strip()]
    whole.unlink()

    def kept(line: dict[str, Any]) -> bool:
        name = line.get("name") if line["kind"] == "study" else line.get("study")
        return line["kind"] in ("header", "task") or (
            line["kind"] in ("study", "trial") and name.startswith(prefix) and name.endswith("-v2")
        )

    body = [line for line in lines if kept(line)]
    counts = {k: sum(1 for x in body if x["kind"] == k) for k in ("task", "study", "trial")}
    body.append({"kind": "end", "counts": counts})
    path.write_text("".join(json.dumps(x, sort_keys=True, default=str) + "\n" for x in body))
    return counts


def normalised(score: float, random_return: float) -> float:
    return (score - random_return) / (THRESHOLD - random_return)


def figures(study, random_return: float) -> dict[str, Any]:
    from autorl.study import attrs
    from autorl.study.accounting import counts_against_budget, is_selectable

    trials = sorted(
        (t for t in study.get_trials(deepcopy=False) if counts_against_budget(t)),
        key=lambda t: t.number,
    )
    proposals = []
    for t in trials:
        source = str(t.user_attrs.get(attrs.SOURCE, ""))
        if source.startswith("warm_start"):
            scores = [float(s) for s in t.user_attrs.get(attrs.SEED_SCORES) or []]
            proposals.append(
                {
                    "trial": t.number,
                    "source": source,
                    "seed_scores": scores,
                    "failed_runs": sum(normalised(s, random_return) < FAILED for s in scores),
                }
            )
    first_seed = [(t.user_attrs.get(attrs.SEED_SCORES) or [None])[0] for t in trials]
    reached = [i + 1 for i, s in enumerate(first_seed) if s is not None and s >= THRESHOLD]
    chosen = [
        i + 1
        for i, t in enumerate(trials)
        if is_selectable(t) and t.value is not None and t.value >= THRESHOLD
    ]
    runs = sum(len(p["seed_scores"]) for p in proposals)
    return {
        "trials": len(trials),
        "random_return": random_return,
        "proposals": proposals,
        "proposal_runs": runs,
        "proposal_runs_failed": sum(p["failed_runs"] for p in proposals),
        "proposals_failed_first_seed": sum(
            normalised(p["seed_scores"][0], random_return) < FAILED
            for p in proposals
            if p["seed_scores"]
        ),
        "first_seed_reaches_threshold_at": reached[0] if reached else None,
        "selectable_reaches_threshold_at": chosen[0] if chosen else None,
        "env_steps": sum(int(t.user_attrs.get(attrs.ENV_STEPS, 0)) for t in trials),
    }


def run(task_name: str, arm: str, trials: int, sampler_seed: int, timesteps: int) -> dict:
    from autorl.envs.features import probe_features
    from autorl.families import load_family
    from autorl.knowledge.kb import import_kb
    from autorl.knowledge.warmstart import WarmStartSettings
    from autorl.runtime.submit import start_study
    from autorl.runtime.tune import run_study
    from autorl.spaces import load_space
    from autorl.study.config import StudyConfig, seed_fields

    family = load_family(FAMILY)
    spec = next(t.spec for t in family.tasks if t.name == task_name)
    STATE.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{STATE / f'{task_name}-{arm}.db'}"
    prefix = ARMS[arm]
    if prefix is not None:
        log.info("%s: knowledge %s", arm, knowledge(prefix, STATE / f"{arm}.jsonl"))
        import_kb(url, STATE / f"{arm}.jsonl")
    seeds, _ = seed_fields()
    config = StudyConfig(
        task=spec,
        algo="sac",
        space=load_space("sac").to_dict(),
        timesteps=timesteps,
        **seeds,
        sampler_seed=sampler_seed,
        threshold=THRESHOLD,
    )
    warm = WarmStartSettings(mode="none" if prefix is None else "auto")
    started = start_study(f"transfer-{task_name}-{arm}", url, config, trials, warm)
    run_study(started.study, url, jobs=2)
    return {
        "task": task_name,
        "arm": arm,
        "spec": spec.to_dict(),
        "knowledge_studies": prefix,
        "queued": [p.origin() for p in started.warm_start],
        **figures(started.study, probe_features(spec).random_return_mean),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="m-1.3,g-12")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--sampler-seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=TIMESTEPS)
    parser.add_argument("--smoke", type=Path, help="a folder for state and results (tiny runs)")
    args = parser.parse_args()
    if args.smoke:
        global RESULTS, STATE
        RESULTS, STATE = args.smoke / "transfer.json", args.smoke
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("AUTORL_SEED_KB", "none")  # the arms' knowledge only
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for task_name in args.tasks.split(","):
        for arm in args.arms.split(","):
            key = f"{task_name}/{arm}/{args.sampler_seed}"
            if key in results:
                continue
            results[key] = run(task_name, arm, args.trials, args.sampler_seed, args.timesteps)
            results["machine"] = {"cpu": platform.processor(), "cores": os.cpu_count()}
            RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True))
            log.info("%s: %s", key, {k: results[key][k] for k in ("proposal_runs_failed",)})
    sys.exit(0)


if __name__ == "__main__":
    main()
