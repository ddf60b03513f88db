"""Trials per hour of ``autorl worker`` processes on PostgreSQL: 1 worker vs 2 (target >= 1.8x).

Each run gets a fresh database with one study whose budget is N enqueued configurations of
identical cost (PPO on CartPole-v1, 8 envs x 256 steps x 10 epochs, 64x64 MLP; only the
learning rate differs, which does not change the compute), no pruning, no validation, no
warm start. ``--workers K`` worker processes, each with 1 torch thread, serve it until the
budget is done. Two clocks: the steady state (first trial's start to last trial's end, from
the stored timestamps: what long-lived workers deliver) and the whole run (process start-up
and imports included). Runs alternate 1, 2, 1, 2 ... and the ratio of the medians is
reported. Results go to ``throughput.json`` with the machine.

Usage: python benchmarks/service/throughput.py [--trials 12] [--timesteps 8192] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ADMIN = os.environ.get("AUTORL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
BASE = {
    "n_envs": 8, "normalize_obs": False, "normalize_reward": False, "lr_schedule": "constant",
    "n_steps": 256, "batch_size": 64, "n_epochs": 10, "one_minus_gamma": 0.01,
    "one_minus_gae_lambda": 0.05, "clip_range": 0.2, "ent_coef": 1e-6, "vf_coef": 0.5,
    "max_grad_norm": 0.5, "net_depth": 2, "net_width": 64, "activation": "tanh",
    "shared_trunk": False, "ortho_init": True,
}  # fmt: skip


def database(create: bool, name: str) -> str:
    admin = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        verb = f'CREATE DATABASE "{name}"' if create else f'DROP DATABASE "{name}" WITH (FORCE)'
        conn.execute(sqlalchemy.text(verb))
    admin.dispose()
    return ADMIN.rsplit("/", 1)[0] + f"/{name}"


def autorl(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "AUTORL_SEED_KB": "none"}
    return subprocess.Popen([sys.executable, "-m", "autorl", *args], cwd=ROOT, env=env, **kwargs)


def trial_span(url: str) -> float:
    """Seconds from the first trial's start to the last one's end (workers' start-up excluded)."""
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        first, last = conn.execute(
            sqlalchemy.text("SELECT min(datetime_start), max(datetime_complete) FROM trials")
        ).one()
    engine.dispose()
    return (last - first).total_seconds()


def one_run(workers: int, trials: int, timesteps: int) -> tuple[float, float]:
    name = f"autorl_bench_tp_{uuid.uuid4().hex[:8]}"
    url = database(True, name)
    try:
        configs = [{**BASE, "learning_rate": 3e-4 * (1 + i / 100)} for i in range(trials)]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(configs, f)
        created = autorl(
            "tune", "CartPole-v1", "--study", "tp", "--no-run", "--trials", str(trials),
            "--timesteps", str(timesteps), "--evaluations", "4", "--eval-episodes", "5",
            "--pruner", "none", "--validation-seeds", "0", "--warm-start", "none",
            "--enqueue", f.name, "--storage", url, "--no-progress",
        )  # fmt: skip
        if created.wait() != 0:
            raise SystemExit("creating the study failed")
        started = time.perf_counter()
        procs = [
            autorl("worker", "--exit-when-idle", "--threads", "1", "--storage", url)
            for _ in range(workers)
        ]
        if any(p.wait() != 0 for p in procs):
            raise SystemExit("a worker failed")
        return time.perf_counter() - started, trial_span(url)
    finally:
        database(False, name)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--timesteps", type=int, default=8192)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    walls: dict[int, list[float]] = {1: [], 2: []}
    spans: dict[int, list[float]] = {1: [], 2: []}
    for repeat in range(args.repeats):
        for workers in (1, 2):
            wall, span = one_run(workers, args.trials, args.timesteps)
            walls[workers].append(round(wall, 1))
            spans[workers].append(round(span, 1))
            print(
                f"repeat {repeat}: {workers} worker(s): {wall:.1f} s with start-up, "
                f"{span:.1f} s first trial start to last trial end"
            )
    wall = {k: statistics.median(v) for k, v in walls.items()}
    span = {k: statistics.median(v) for k, v in spans.items()}
    record = {
        "trials_per_run": args.trials,
        "timesteps": args.timesteps,
        "wall_s_with_startup": walls,
        "trial_span_s": spans,
        "trials_per_hour_median": {k: round(args.trials / v * 3600) for k, v in span.items()},
        "speedup_2_vs_1": round(span[1] / span[2], 2),
        "speedup_2_vs_1_with_startup": round(wall[1] / wall[2], 2),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "storage": "PostgreSQL 15 on the same machine",
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    (HERE / "throughput.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
