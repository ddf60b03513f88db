"""What the benchmarks that run ``autorl tune`` share (front.py, joint.py, pixels.py and
benchmarks/domains/run.py): the machine, the command in a subprocess, a cold study, and the
record of its chosen configuration's test on seeds no choice used."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEST = {"seeds": list(range(100_000, 100_005)), "episodes": 20, "first_episode": 200_000}
log = logging.getLogger("tuned")


def machine() -> dict[str, Any]:
    """CPU, cores, Python and the commit measured, for every result file."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "commit": commit,
    }


def autorl(*args: str, capture: bool = False) -> str:
    """``autorl ARGS`` in a subprocess (check=True); its output when ``capture``."""
    cmd = [sys.executable, "-m", "autorl.cli", *args]
    log.info("%s", " ".join(cmd[2:]))
    done = subprocess.run(cmd, check=True, capture_output=capture, text=True)
    return done.stdout if capture else ""


def cold_tune(
    env_id: str,
    algo: str,
    study: str,
    url: str,
    trials: int,
    timesteps: int,
    seed: int,
    *extra: str,
) -> float:
    """``autorl tune`` of a cold study (no warm start, sampler seed ``seed``), which ends by
    testing its chosen configuration on the test seeds; the wall seconds it took."""
    began = time.monotonic()
    autorl(
        "tune", env_id, "--algo", algo, "--study", study, "--trials", str(trials),
        "--timesteps", str(timesteps), "--sampler-seed", str(seed), "--warm-start", "none",
        "--no-progress", "--storage", url, *extra,
    )  # fmt: skip
    return time.monotonic() - began


def tested(study_name: str, url: str, tuned_s: float) -> tuple[Any, dict[str, Any]]:
    """The study's chosen trial and the record every result file starts with: its
    selection and test scores, the study's env steps, and the machine."""
    import optuna

    from autorl.study.accounting import total_compute

    study = optuna.load_study(study_name=study_name, storage=url)
    trials = study.get_trials(deepcopy=False)
    test = study.user_attrs["autorl.validation"]
    chosen = next(t for t in trials if t.number == test["trial"])
    return chosen, {
        "chosen_trial": test["trial"],
        "selection_score": chosen.value,
        "seed_scores": chosen.user_attrs.get("seed_scores"),
        "test_mean": test["mean"],
        "test_scores": test["scores"],
        "solved_fraction": test.get("solved_fraction"),
        "env_steps": total_compute(trials)["env_steps"],
        "trials": len(trials),
        "tune_wall_s": round(tuned_s, 1),
        "test": TEST,
        "machine": machine(),
    }
