"""Population-based training against TPE with racing, at about equal env steps.

Per task: one PBT run (``autorl pbt``, two workers) and one cold TPE study (``autorl tune``,
racing up to 3 seeds, two workers) whose trial count makes its env steps about the
population's (members x timesteps). Published results on the test seeds no choice used
(100000..100004, 20 episodes each seeded from 200000):

- PBT, replayed: the winner's schedule trained from scratch (``autorl train RUN --seed S``);
- PBT, the winning member itself: its final policy on the 20 test episodes (``autorl pbt``);
- TPE: the chosen configuration re-trained on the test seeds (``autorl tune``'s own test).

Also measured: wall-clock of each arm with two workers; checkpoint bytes and save/restore
milliseconds per segment; the bookkeeping overhead (the run's worker-seconds against the
segments' own training and evaluation seconds); and one member's configuration trained
straight (no segments) against its segmented run.

Resumable: runs and studies live in ``pbt.db``; an arm with a result in
``results/TASK.json`` is skipped.

    .venv/bin/python benchmarks/pbt/run.py --tasks cartpole,pendulum
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compress"))
from tuned import TEST, autorl, cold_tune, machine, tested

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
URL = f"sqlite:///{HERE / 'pbt.db'}"
TASKS: dict[str, dict[str, Any]] = {
    "cartpole": {"env": "CartPole-v1", "algo": "ppo", "population": 8, "timesteps": 50_000,
                 "interval": 10_000, "threshold": 475.0},
    "pendulum": {"env": "Pendulum-v1", "algo": "sac", "population": 8, "timesteps": 12_000,
                 "interval": 3_000, "threshold": -200.0},
}  # fmt: skip
MEAN_SEEDS_PER_TRIAL = 1.5  # racing's usual cost (benchmarks/search/REPRODUCE.md: 1.2x-1.9x)
log = logging.getLogger("pbt-bench")


def _arm(path: Path, key: str, make) -> Any:
    data = json.loads(path.read_text()) if path.exists() else {}
    if key not in data:
        data[key] = make()
        path.write_text(json.dumps(data, indent=2) + "\n")
    return data[key]


def pbt_arm(task: dict[str, Any], name: str) -> dict[str, Any]:
    from autorl.db import population as store

    run = store.get_run(URL, name)
    began = time.monotonic()
    if run is None:
        autorl(
            "pbt", task["env"], "--algo", task["algo"], "--population", str(task["population"]),
            "--timesteps", str(task["timesteps"]), "--interval", str(task["interval"]),
            "--name", name, "--seed", "0", "--warm-start", "none", "--jobs", "2",
            "--storage", URL,
        )  # fmt: skip
    elif run.state == "running":
        autorl("pbt", "--resume", name, "--jobs", "2", "--storage", URL)
    wall = time.monotonic() - began
    run = store.get_run(URL, name)
    segments = store.segments(URL, run.id)
    results = [s.result for s in segments if s.status == "done"]
    inside = sum(r["wall_s"] for r in results)
    outcome = store.get_outcome(URL, run.id)
    return {
        "state": run.state,
        "wall_s": round(wall, 1),
        "env_steps": task["population"] * task["timesteps"],
        "segments": len(segments),
        "exploits": sum(s.exploited for s in segments),
        "winner": outcome,
        "checkpoint_bytes_median": statistics.median(r["checkpoint_bytes"] for r in results),
        "save_ms_median": statistics.median(r["save_ms"] for r in results),
        "restore_ms_median": statistics.median(
            r["restore_ms"] for r, s in zip(results, segments, strict=False) if s.generation
        ),
        "segment_seconds": round(inside, 1),
        # two workers for ``wall`` seconds: the share not spent inside a segment's training,
        # evaluation and checkpointing (claims, forks, loading, storing, waiting at barriers)
        "bookkeeping_share": round(1 - inside / (2 * wall), 3) if wall > 0 else None,
    }


def replay_arm(name: str, env: str) -> dict[str, Any]:
    """The winner's schedule trained from scratch on each test seed (two at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    from autorl.training.artifacts import load_trained
    from autorl.training.device import set_threads

    set_threads(1)
    with tempfile.TemporaryDirectory() as folder:

        def replay(seed: int) -> float:
            path = Path(folder) / f"replay-{seed}.zip"
            autorl("train", name, "--seed", str(seed), "--out", str(path), "--storage", URL)
            score = load_trained(path).evaluate(TEST["episodes"], TEST["first_episode"]).mean
            log.info("%s replay seed %d: %.1f", env, seed, score)
            return score

        with ThreadPoolExecutor(max_workers=2) as pool:
            scores = list(pool.map(replay, TEST["seeds"]))
    return {"test_scores": scores, "test_mean": statistics.fmean(scores)}


def straight_arm(name: str) -> dict[str, Any]:
    """Member 0's first configuration trained in one piece, against its segmented first
    generation's seconds per env step (what segmenting costs one member)."""
    from autorl.db import population as store
    from autorl.runtime.population import segment_config
    from autorl.training.device import set_threads
    from autorl.training.trainer import train_model
    from autorl.types import TrainSpec

    run = store.get_run(URL, name)
    first = store.segments(URL, run.id, 0)[0]
    set_threads(1)
    spec = TrainSpec(run.task, segment_config(run, first.params), run.settings.timesteps, 0)
    began = time.monotonic()
    model, venv = train_model(spec)
    venv.close()
    seconds = time.monotonic() - began
    per_step = [
        s.result["wall_s"] / (s.until_step - s.start_step)
        for s in store.segments(URL, run.id)
        if s.status == "done" and not s.exploited and s.member == 0
    ]
    return {
        "straight_s_per_1k_steps": round(1000 * seconds / model.num_timesteps, 3),
        "segmented_s_per_1k_steps": round(1000 * statistics.median(per_step), 3),
    }


def tpe_arm(task: dict[str, Any], name: str) -> dict[str, Any]:
    trials = max(2, round(task["population"] / MEAN_SEEDS_PER_TRIAL))
    tuned_s = cold_tune(
        task["env"], task["algo"], name, URL, trials, task["timesteps"], 0,
        "--jobs", "2", "--threshold", str(task["threshold"]),
    )  # fmt: skip
    _, record = tested(name, URL, tuned_s)
    return record


def run(key: str) -> None:
    task = TASKS[key]
    out = RESULTS / f"{key}.json"
    RESULTS.mkdir(exist_ok=True)
    _arm(out, "settings", lambda: {**task, "test": TEST, "machine": machine()})
    name = f"{key}-pbt"
    _arm(out, "pbt", lambda: pbt_arm(task, name))
    _arm(out, "pbt_replay", lambda: replay_arm(name, task["env"]))
    _arm(out, "tpe", lambda: tpe_arm(task, f"{key}-tpe"))
    _arm(out, "segmenting", lambda: straight_arm(name))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", default=",".join(TASKS))
    for key in p.parse_args().tasks.split(","):
        run(key)


if __name__ == "__main__":
    main()
