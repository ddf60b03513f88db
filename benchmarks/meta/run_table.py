"""Produce a (task, configuration) score table for a family: a resumable job.

Every task of the family trains every configuration of a fixed pool (``make_pool.py``) with
one seed, through ``autorl family tune`` (enqueued, no pruning, no warm start), so the
studies themselves are the job's state: rerunning continues where it stopped. The budget
grows in steps (all tasks get the first ``--step`` configurations, then the next ...), so
a partial table already covers every task. After each step the table is exported.

Usage:
  python benchmarks/meta/run_table.py autorl/families/files/pendulum-physics.yaml \
      --algo ppo --timesteps 100000 --pool benchmarks/meta/pool-ppo-box.json --step 8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def autorl(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "autorl", *args], check=True, cwd=ROOT)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("family", type=Path)
    p.add_argument("--algo", required=True)
    p.add_argument("--timesteps", type=int, required=True)
    p.add_argument("--pool", type=Path, required=True)
    p.add_argument("--step", type=int, default=8)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--name", help="output name (default: FAMILY-ALGO-TIMESTEPS)")
    p.add_argument("--only", help="comma-separated variants (default: all of the family)")
    p.add_argument("--configs", type=int, help="stop at this many configurations per task")
    args = p.parse_args()
    pool = json.loads(args.pool.read_text())
    name = args.name or f"{args.family.stem}-{args.algo}-{args.timesteps}"
    state = HERE / "state"
    state.mkdir(exist_ok=True)
    storage = f"sqlite:///{state / name}.db"
    size = min(len(pool), args.configs or len(pool))
    only = ["--only", args.only] if args.only else []
    for budget in range(args.step, size + args.step, args.step):
        budget = min(budget, size)
        started = time.perf_counter()
        autorl(
            "family", "tune", str(args.family), "--algo", args.algo,
            "--timesteps", str(args.timesteps), "--trials", str(budget),
            "--enqueue", str(args.pool), "--pruner", "none", "--warm-start", "none",
            "--validation-seeds", "0", "--evaluations", "4", "--eval-episodes", "5",
            "--timeout-factor", "1000", "--jobs", str(args.jobs), "--no-progress",
            "--storage", storage, *only,
        )  # fmt: skip
        autorl(
            "meta-eval", "table", str(args.family), "--algo", args.algo,
            "--out", str(HERE / f"{name}.jsonl"), "--storage", storage,
        )  # fmt: skip
        print(f"{name}: {budget} configurations per task ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
