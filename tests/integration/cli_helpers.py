"""Run the real ``autorl`` command line, in-process or as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna

from autorl.cli import main

ROOT = Path(__file__).resolve().parents[2]
# One seed per configuration (racing, the default, runs up to 3: tests that are about racing
# use TINY_RACING).
TINY_RACING = ["--timesteps", "600", "--evaluations", "2", "--eval-episodes", "2", "--no-progress"]
TINY = [*TINY_RACING, "--seeds", "1"]


def ppo_configuration(**changes) -> dict:
    """A whole PPO parameter set of a size study's space (to ``--enqueue``), with ``changes``."""
    return {
        "n_envs": 1,
        "normalize_reward": False,
        "learning_rate": 1e-3,
        "lr_schedule": "constant",
        "n_steps": 64,
        "batch_size": 32,
        "n_epochs": 5,
        "one_minus_gamma": 0.01,
        "one_minus_gae_lambda": 0.05,
        "clip_range": 0.2,
        "ent_coef": 1e-4,
        "vf_coef": 0.5,
        "max_grad_norm": 0.5,
        "activation": "tanh",
        "critic_depth": 1,  # a size study searches the critic apart
        "critic_width": 64,
        "ortho_init": True,
        **changes,
    }


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(storage_url: str, cwd: Path, verbose: int = 0) -> tuple[subprocess.Popen, str]:
    """A real ``autorl serve`` on a free port, once it answers ``/healthz``: (process, URL).
    The caller stops it (``terminate``); its settings come from the environment."""
    port = free_port()
    flags = ["-v"] * verbose
    server = spawn_cli([*flags, "serve", "--port", str(port), "--storage", storage_url], cwd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).read()
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.communicate()[1][-2000:]
                raise RuntimeError(f"autorl serve did not start: {output}") from None
            time.sleep(0.2)


def trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a zombie included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
