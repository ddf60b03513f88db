"""What training each seed run in a child process costs (``autorl.runtime.isolation``).

Two figures, medians over ``--repeats`` interleaved calls in one process:
  per call   ``IsolatedTrain`` around a train function that does no training (it returns a
             fixed result after three reports): the fork, the pipe, the pickling, the reports'
             round trips; against calling that function directly.
  per run    a real seed run (PPO on CartPole-v1, ``--timesteps`` steps, 3 evaluations of 2
             episodes) isolated against in this process: the same training, so the
             difference is the isolation's cost with real imports, real logging, real results.
The fork server's start (its imports of torch and SB3, once per worker) is timed on its own.
Results, with the machine, go to ``isolation.json``.

Usage: .venv/bin/python benchmarks/overhead/isolation.py [--repeats 20] [--timesteps 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from autorl.runtime.isolation import IsolatedTrain, start_fork_server
from autorl.training.trainer import train_and_evaluate
from autorl.types import (
    EnvSettings,
    EvalSettings,
    Evaluation,
    SeedResult,
    TaskSpec,
    TrainConfig,
    TrainSpec,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "isolation.json"


def no_training(spec: TrainSpec, report=None) -> SeedResult:
    """Three reports and a result, no training: what isolating a call costs."""
    curve = tuple(Evaluation(step, 1.0, 0.0, (1.0,)) for step in (1, 2, 3))
    for point in curve:
        if report is not None:
            report(point.step, point.mean)
    return SeedResult(spec.seed, 1.0, curve, 3, 0.0, False)


def spec(timesteps: int) -> TrainSpec:
    kwargs = {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}
    return TrainSpec(
        task=TaskSpec("CartPole-v1"),
        config=TrainConfig("ppo", "MlpPolicy", kwargs, EnvSettings()),
        timesteps=timesteps,
        seed=0,
        evaluation=EvalSettings(n_evaluations=3, episodes=2, seed=100),
    )


def timed(fn, *args) -> float:
    began = time.perf_counter()
    fn(*args)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--timesteps", type=int, default=2000)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    began = time.perf_counter()
    start_fork_server()
    IsolatedTrain(no_training)(spec(args.timesteps))  # waits for the server's imports
    server_s = time.perf_counter() - began
    report = lambda step, value: True  # noqa: E731
    isolated_call, direct_call, isolated_run, direct_run = [], [], [], []
    for _ in range(args.repeats):
        isolated_call.append(timed(IsolatedTrain(no_training), spec(args.timesteps), report))
        direct_call.append(timed(no_training, spec(args.timesteps), report))
    for _ in range(max(3, args.repeats // 4)):
        isolated_run.append(timed(IsolatedTrain(train_and_evaluate), spec(args.timesteps), report))
        direct_run.append(timed(train_and_evaluate, spec(args.timesteps), report))
    ms = lambda xs: round(1000 * statistics.median(xs), 1)  # noqa: E731
    result = {
        "fork_server_start_s": round(server_s, 2),
        "per_call_ms": {"isolated": ms(isolated_call), "direct": ms(direct_call)},
        "per_run_ms": {
            "isolated": ms(isolated_run),
            "direct": ms(direct_run),
            "difference": round(ms(isolated_run) - ms(direct_run), 1),
            "ratio": round(statistics.median(isolated_run) / statistics.median(direct_run), 3),
            "runs": len(direct_run),
        },
        "timesteps": args.timesteps,
        "machine": {"cpu": platform.processor(), "cores": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
