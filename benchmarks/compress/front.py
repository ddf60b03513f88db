"""Search for return and size together (``autorl tune --objectives return,params``): the
front, each point's return on test seeds, and the ``--smallest-within 5%`` pick as a
fraction of SB3's default network.

For each task and sampler seed: one cold study (no warm start) in ``studies/front.db``
(resumable: rerun the same command and the study continues), TPE with racing as ``autorl
tune`` runs it; then every point of its front is re-trained on the 5 test seeds
(100000..100004, 20 episodes each; a measurement only: no choice uses them). The result,
with the machine, lands in ``results/front-TASK-sSEED.json``; a task with a result is
skipped (delete the file to run it again).

    .venv/bin/python benchmarks/compress/front.py --tasks cartpole --seeds 0
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from tuned import autorl, machine  # benchmarks/compress/tuned.py

HERE = Path(__file__).resolve().parent
STATE, RESULTS = HERE / "studies", HERE / "results"  # studies: committed (no weights)
DEFAULT_PARAMS = {"ppo": 4_610, "sac": 67_073}  # acting parameters of SB3's default nets
TASKS: dict[str, dict[str, Any]] = {
    "cartpole": {"env_id": "CartPole-v1", "algo": "ppo", "timesteps": 50_000, "trials": 20},
    "pendulum": {"env_id": "Pendulum-v1", "algo": "sac", "timesteps": 10_000, "trials": 20},
}
log = logging.getLogger("front")


def run(name: str, seed: int, jobs: int) -> None:
    out = RESULTS / f"front-{name}-s{seed}.json"
    if out.exists():
        log.info("%s exists: skipped", out)
        return
    import optuna

    from autorl.runtime.validation import test_trial, threshold_of
    from autorl.study.config import StudyConfig
    from autorl.study.objectives import kept, smallest_within

    task, study_name = TASKS[name], f"{name}-front-s{seed}"
    STATE.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{STATE / 'front.db'}"
    began = time.monotonic()
    autorl(
        "tune", task["env_id"], "--algo", task["algo"], "--study", study_name,
        "--objectives", "return,params", "--trials", str(task["trials"]),
        "--timesteps", str(task["timesteps"]), "--sampler-seed", str(seed),
        "--warm-start", "none", "--jobs", str(jobs), "--no-progress", "--storage", url,
    )  # fmt: skip
    tuned_s = time.monotonic() - began
    front = json.loads(
        autorl("best", study_name, "--pareto", "--format", "json", "--storage", url, capture=True)
    )
    study = optuna.load_study(study_name=study_name, storage=url)
    config = StudyConfig.from_dict(study.user_attrs["autorl.config"])
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    threshold = threshold_of(config)
    stored = study.user_attrs.get("autorl.validation") or {}
    points = []
    for point in front["points"]:
        same = stored.get("trial") == point["trial"] and len(stored.get("scores", [])) == 5
        test = stored if same else test_trial(by_number[point["trial"]], config, "cpu")
        points.append({**point, "test_mean": test["mean"], "test_scores": test["scores"],
                       "solved_fraction": test["solved_fraction"]})  # fmt: skip
        log.info("trial %d (%s params): test %s", point["trial"], point["params"], test["mean"])
    trials = [by_number[p["trial"]] for p in front["points"]]
    pick = smallest_within(trials, 0.05, front["floor"])
    best = points[-1]
    chosen = next(p for p in points if p["trial"] == pick.number)
    steps = sum(int(t.user_attrs.get("env_steps", 0)) for t in by_number.values())
    reaching = [p for p in points if (p["solved_fraction"] or 0) >= 0.9]
    result = {
        "task": task,
        "sampler_seed": seed,
        "threshold": threshold,
        "floor": front["floor"],
        "floor_from": front["floor_from"],
        "front": points,
        "pick_5pct": {
            **chosen,
            "fraction_of_default": chosen["params"] / DEFAULT_PARAMS[task["algo"]],
            "test_kept_of_best": kept(chosen["test_mean"], best["test_mean"], front["floor"]),
        },
        "smallest_reaching_threshold_on_90pct_of_test_seeds": None
        if not reaching
        else {
            "trial": reaching[0]["trial"],
            "params": reaching[0]["params"],
            "fraction_of_default": reaching[0]["params"] / DEFAULT_PARAMS[task["algo"]],
        },
        "env_steps": steps,
        "trials": len(by_number),
        "tune_wall_s": round(tuned_s, 1),
        "test": {"seeds": list(range(100_000, 100_005)), "episodes": 20, "first_episode": 200_000},
        "machine": machine(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    log.info("wrote %s", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="cartpole")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("AUTORL_SEED_KB", "none")
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in args.tasks.split(","):
            run(name, seed, args.jobs)


if __name__ == "__main__":
    main()
