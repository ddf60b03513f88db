"""autorl's search against the RL Zoo optimiser at the same budget (trials x timesteps).

Arms (each resumable: a finished arm's result is kept in results.json and skipped on rerun;
a half-run arm continues from its own storage in $BENCH_DIR, default benchmarks/search/state/):
  autorl-cartpole  autorl tune CartPole-v1 --algo ppo --trials 20 --timesteps 50000
  zoo-cartpole     python -m rl_zoo3.train --algo ppo --env CartPole-v1 -n 50000 -optimize
  autorl-pendulum  autorl tune Pendulum-v1 --algo sac --trials 20 --timesteps 10000
  zoo-pendulum     python -m rl_zoo3.train --algo sac --env Pendulum-v1 -n 10000 -optimize
Both sides: TPE + median pruner, default settings otherwise; the best configuration of each is
re-trained on 3 held-out seeds and scored on 20 episodes seeded 200000.. (autorl does this
itself; zoo_validate.py does it for RL Zoo's best trial the same way).

Usage: python benchmarks/search/run.py [ARM ...]   (ZOO_PYTHON: a python with rl_zoo3)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results.json"
# The studies live in the repository (committed as they grow) so a half-run arm survives
# the end of a session; RL Zoo's logs and models do not (see .gitignore).
BENCH_DIR = Path(os.environ.get("BENCH_DIR", HERE / "state"))
ZOO_PYTHON = os.environ.get("ZOO_PYTHON", "/tmp/zoo-venv/bin/python")
TRIALS, VALIDATION_SEEDS = 20, 3
TASKS = {
    "cartpole": ("CartPole-v1", "ppo", 50_000),
    "pendulum": ("Pendulum-v1", "sac", 10_000),
}


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def save_result(arm: str, result: dict) -> None:
    results = load_results()
    results[arm] = result
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True))


def _seconds(trial: optuna.trial.FrozenTrial) -> float:
    """Wall-clock seconds a finished trial ran (start to completion, as Optuna stored them)."""
    if trial.datetime_start is None or trial.datetime_complete is None:
        return 0.0
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def run_autorl(task: str) -> dict:
    env_id, algo, steps = TASKS[task]
    storage = f"sqlite:///{BENCH_DIR / 'autorl.db'}"
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autorl",
            "tune",
            env_id,
            "--algo",
            algo,
            "--trials",
            str(TRIALS),
            "--timesteps",
            str(steps),
            "--jobs",
            "2",
            "--validation-seeds",
            str(VALIDATION_SEEDS),
            "--storage",
            storage,
            "--study",
            f"bench-{task}",
            "--no-progress",
            "--sampler-seed",
            "0",
            "--warm-start",
            "none",  # a cold search, like RL Zoo's: no shipped history
        ],
        check=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - start
    study = optuna.load_study(study_name=f"bench-{task}", storage=storage)
    done = [t for t in study.trials if t.state.is_finished()]
    validation = study.user_attrs["autorl.validation"]
    return {
        "env": env_id,
        "algo": algo,
        "timesteps": steps,
        "trials": len(done),
        "best_tuning_score": study.best_value,
        "validated_mean": validation["mean"],
        "validated_std": validation["std"],
        "validated_scores": validation["scores"],
        "env_steps": sum(int(t.user_attrs.get("env_steps", 0)) for t in done),
        "trial_seconds_total": round(sum(_seconds(t) for t in done)),
        "pruned": sum(1 for t in done if t.state.name == "PRUNED"),
        "failed": sum(1 for t in done if t.state.name == "FAIL"),
        "wall_s_last_session": round(wall, 1),
        "workers": 2,
    }


def zoo_optimize(env_id: str, algo: str, steps: int, trials: int, storage: str, name: str) -> float:
    """Run (or continue to ``trials``) RL Zoo's optimiser; the wall seconds it took."""
    start = time.perf_counter()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ZOO_PYTHON,
            "-m",
            "rl_zoo3.train",
            "--algo",
            algo,
            "--env",
            env_id,
            "-n",
            str(steps),
            "-optimize",
            "--max-total-trials",
            str(trials),
            "--n-jobs",
            "1",
            "--sampler",
            "tpe",
            "--pruner",
            "median",
            "--storage",
            storage,
            "--study-name",
            name,
            "-f",
            str(BENCH_DIR / "zoo-logs"),
            "--no-optim-plots",
            "--seed",
            "0",
            # one torch thread, as autorl's workers: two threads on a shared 2-core VM thrash
            # (a 150k-step LunarLander trial ran over 11 minutes next to a 2-worker study)
            "--num-threads",
            "1",
        ],
        check=True,
        cwd=BENCH_DIR,
    )
    return time.perf_counter() - start


def zoo_test(
    storage: str, name: str, algo: str, env_id: str, steps: int, seeds: int, step: int = 0
) -> dict:
    """RL Zoo's best trial re-trained on test seeds by ``zoo_validate.py`` (``step``: shift
    of the episode seeds per test seed, as autorl's own test does)."""
    command = [ZOO_PYTHON, str(HERE / "zoo_validate.py"), storage, name, algo, env_id]
    out = subprocess.run(
        [*command, str(steps), str(seeds), str(step)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"zoo_validate.py failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def zoo_steps(study: optuna.Study, steps: int) -> int:
    """Env steps RL Zoo spent: below 100k steps it evaluates once, at the end, so pruned
    trials trained their whole budget too."""
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    return steps * len(done)


def run_zoo(task: str) -> dict:
    env_id, algo, steps = TASKS[task]
    storage = f"sqlite:///{BENCH_DIR / 'zoo.db'}"
    wall = zoo_optimize(env_id, algo, steps, TRIALS, storage, f"zoo-{task}")
    validated = zoo_test(storage, f"zoo-{task}", algo, env_id, steps, VALIDATION_SEEDS)
    study = optuna.load_study(study_name=f"zoo-{task}", storage=storage)
    done = [t for t in study.trials if t.state.is_finished()]
    return {
        "env": env_id,
        "algo": algo,
        "timesteps": steps,
        "trials": len(done),
        "best_tuning_score": validated["tuning_score"],
        "validated_mean": validated["validated_mean"],
        "validated_std": validated["validated_std"],
        "validated_scores": validated["validated_scores"],
        "env_steps": zoo_steps(study, steps),
        "trial_seconds_total": round(sum(_seconds(t) for t in done)),
        "pruned": sum(1 for t in done if t.state.name == "PRUNED"),
        "failed": sum(1 for t in done if t.state.name == "FAIL"),
        "wall_s_last_session": round(wall, 1),
        "workers": 1,
    }


ARMS = {
    "autorl-cartpole": lambda: run_autorl("cartpole"),
    "zoo-cartpole": lambda: run_zoo("cartpole"),
    "autorl-pendulum": lambda: run_autorl("pendulum"),
    "zoo-pendulum": lambda: run_zoo("pendulum"),
}


def main() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    wanted = sys.argv[1:] or list(ARMS)
    for arm in wanted:
        if arm in load_results():
            print(f"{arm}: done already", flush=True)
            continue
        print(f"{arm}: running", flush=True)
        result = ARMS[arm]()
        result["machine"] = subprocess.run(
            ["uname", "-a"], capture_output=True, text=True
        ).stdout.strip()
        result["date"] = time.strftime("%Y-%m-%d %H:%M")
        save_result(arm, result)
        print(f"{arm}: {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
