"""Overhead of autorl over bare SB3: the same fixed configurations, trained and evaluated alike.

Runs ``autorl tune`` with the configurations enqueued (pruner off, no validation) and the bare
SB3 script, alternating, REPEATS times; records wall-clock medians and their ratio with the
machine. Usage: python benchmarks/overhead/run.py [--repeats 3] [--timesteps 20000]
Results: benchmarks/overhead/results-TIMESTEPS.json (the latest run at that budget).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def resolved_configs(timesteps: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from autorl.spaces import load_space

    space = load_space("ppo")
    configs = json.loads((HERE / "configs.json").read_text())
    out = [space.resolve(c, "discrete", timesteps).config.to_dict() for c in configs]
    path = Path(tempfile.mkdtemp()) / "resolved.json"
    path.write_text(json.dumps(out))
    return path


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall-clock and CPU (user + system) seconds of a command and its children, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        cmd, check=True, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def bare_runs(output: str) -> list[dict]:
    """The bare script's runs: one JSON line each (score, seconds, evaluation curve)."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def autorl_trials(storage: str) -> tuple[float, list[list[float]]]:
    """Sum of the stored trials' durations (start to completion, as Optuna recorded them) and
    their evaluation curves (intermediate values), in trial order."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="CartPole-v1-ppo", storage=storage)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    seconds = sum(
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.datetime_complete is not None and t.datetime_start is not None
    )
    curves = [[t.intermediate_values[k] for k in sorted(t.intermediate_values)] for t in trials]
    return seconds, curves


def same_work(autorl: list[list[float]], bare: list[list[float]]) -> bool:
    """Both sides trained the same models: every evaluation equal."""
    return len(autorl) == len(bare) and all(
        len(a) == len(b) and all(abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))
        for a, b in zip(autorl, bare, strict=True)
    )


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    import os

    import stable_baselines3
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sb3": stable_baselines3.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=20_000)
    args = parser.parse_args()
    configs = json.loads((HERE / "configs.json").read_text())
    resolved = resolved_configs(args.timesteps)
    tmp = Path(tempfile.mkdtemp())
    autorl, bare, autorl_cpu, bare_cpu, autorl_trial_s, bare_trials = [], [], [], [], [], []
    identical = []
    for rep in range(args.repeats):
        storage = f"sqlite:///{tmp / f'bench{rep}.db'}"
        wall, cpu, _ = timed(
            [
                sys.executable,
                "-m",
                "autorl",
                "tune",
                "CartPole-v1",
                "--algo",
                "ppo",
                "--trials",
                str(len(configs)),
                "--timesteps",
                str(args.timesteps),
                "--enqueue",
                str(HERE / "configs.json"),
                "--pruner",
                "none",
                "--validation-seeds",
                "0",
                "--storage",
                storage,
                "--no-progress",
                "--warm-start",
                "none",  # exactly the enqueued configurations, nothing proposed from history
            ]
        )
        autorl.append(wall)
        autorl_cpu.append(cpu)
        seconds, autorl_curves = autorl_trials(storage)
        autorl_trial_s.append(seconds)
        wall, cpu, out = timed(
            [sys.executable, str(HERE / "bare_sb3.py"), str(resolved), str(args.timesteps)]
        )
        bare.append(wall)
        bare_cpu.append(cpu)
        runs = bare_runs(out)
        bare_trials.append(sum(run["seconds"] for run in runs))
        identical.append(same_work(autorl_curves, [run["curve"] for run in runs]))
        print(
            f"repeat {rep}: autorl {autorl[-1]:.1f} s ({autorl_cpu[-1]:.1f} s CPU, trials "
            f"{autorl_trial_s[-1]:.1f} s), bare SB3 {bare[-1]:.1f} s ({bare_cpu[-1]:.1f} s CPU, "
            f"runs {bare_trials[-1]:.1f} s); same learning curves: {identical[-1]}",
            flush=True,
        )
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "configs": len(configs),
        "timesteps": args.timesteps,
        "autorl_s": autorl,
        "bare_s": bare,
        "autorl_median_s": statistics.median(autorl),
        "bare_median_s": statistics.median(bare),
        "ratio_of_medians": statistics.median(autorl) / statistics.median(bare),
        "paired_ratios": [a / b for a, b in zip(autorl, bare, strict=True)],
        "autorl_cpu_s": autorl_cpu,
        "bare_cpu_s": bare_cpu,
        "cpu_ratio_of_medians": statistics.median(autorl_cpu) / statistics.median(bare_cpu),
        "same_learning_curves": identical,  # both sides did the same work, evaluation by evaluation
        # the training runs alone (no process start-up, imports, storage creation)
        "autorl_trials_s": autorl_trial_s,
        "bare_runs_s": bare_trials,
        "trials_ratio_of_medians": (
            statistics.median(autorl_trial_s) / statistics.median(bare_trials)
        ),
    }
    (HERE / f"results-{args.timesteps}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
