"""Overhead of autorl over bare SB3: the same fixed configurations, trained and evaluated alike.

Runs ``autorl tune`` with the configurations enqueued (pruner off, no validation) and the bare
SB3 script, alternating, REPEATS times; records wall-clock medians and their ratio with the
machine. Usage: python benchmarks/overhead/run.py [--repeats 3] [--timesteps 20000]
Results: benchmarks/overhead/results.json and results.md (appended per run).
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


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of a command and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


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
    autorl, bare, autorl_cpu, bare_cpu = [], [], [], []
    for rep in range(args.repeats):
        storage = f"sqlite:///{tmp / f'bench{rep}.db'}"
        wall, cpu = timed(
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
            ]
        )
        autorl.append(wall)
        autorl_cpu.append(cpu)
        wall, cpu = timed(
            [sys.executable, str(HERE / "bare_sb3.py"), str(resolved), str(args.timesteps)]
        )
        bare.append(wall)
        bare_cpu.append(cpu)
        print(
            f"repeat {rep}: autorl {autorl[-1]:.1f} s ({autorl_cpu[-1]:.1f} s CPU), "
            f"bare SB3 {bare[-1]:.1f} s ({bare_cpu[-1]:.1f} s CPU)",
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
    }
    (HERE / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
