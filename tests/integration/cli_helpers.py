"""Run the real ``autorl`` command line, in-process or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna

from autorl.cli import main

ROOT = Path(__file__).resolve().parents[2]
# One seed per configuration (racing, the default, runs up to 3: tests that are about racing
# use TINY_RACING).
TINY_RACING = ["--timesteps", "600", "--evaluations", "2", "--eval-episodes", "2", "--no-progress"]
TINY = [*TINY_RACING, "--seeds", "1"]


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def spawn_cli(args: list[str], cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "autorl.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()
