"""Start-up of the command line: ``autorl --help``, ``autorl studies`` and the time from
starting ``autorl tune`` to its first trial's start, each the median of ``--repeats`` runs.

``--tree DIR`` runs another checkout's code (``PYTHONPATH=DIR``, e.g. a ``git worktree`` of
an older commit: the "before" of a change) with this environment's packages; the default is
this checkout. ``autorl studies`` reads a SQLite storage holding 3 small studies, made once
per tree. Time to the first trial: ``datetime_start`` of trial 0 minus the moment the
process was started (``--no-run`` is not used: the first trial is what a user waits for);
time to the first result: trial 0's ``datetime_complete`` likewise (its one 200-step seed run
trained in the fork server's child, evaluated and stored).
Results (with the machine and its load average) are appended to ``startup.json``.

Usage: .venv/bin/python benchmarks/overhead/startup.py [--tree DIR] [--repeats 5] [--label L]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "startup.json"
TUNE = ["tune", "CartPole-v1", "--trials", "1", "--timesteps", "200", "--seeds", "1"]
TUNE += ["--evaluations", "1", "--eval-episodes", "1", "--test-seeds", "0", "--no-progress"]
TUNE += ["--warm-start", "none"]


def _run(tree: Path, args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "AUTORL_SEED_KB": "none"}
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "autorl.cli", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - began


def _first_trial_s(tree: Path, work: Path, i: int) -> tuple[float, float]:
    """Seconds from the start of ``autorl tune`` to its first trial's start (its claim) and
    to its end (its 200-step seed run trained, evaluated and stored: the first result)."""
    import optuna

    url = f"sqlite:///{work / f'first-{i}.db'}"
    started = dt.datetime.now()
    _run(tree, [*TUNE, "--study", "s", "--storage", url], work)
    trial = optuna.load_study(study_name="s", storage=url).trials[0]
    return (
        (trial.datetime_start - started).total_seconds(),
        (trial.datetime_complete - started).total_seconds(),
    )


def commit_of(tree: Path) -> str:
    """The short commit a checkout (or worktree) is at."""
    return subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()


def machine() -> dict:
    """The machine a record was measured on, with its load at the end of the run."""
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    tree = args.tree.resolve()
    commit = commit_of(tree)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        studies = f"sqlite:///{work / 'studies.db'}"
        for n in range(3):
            _run(tree, [*TUNE, "--study", f"s{n}", "--storage", studies], work)
        timings: dict[str, list[float]] = {
            "help": [],
            "studies": [],
            "first_trial": [],
            "first_result": [],
        }
        for i in range(args.repeats):  # interleaved, so a slow spell hits every command
            timings["help"].append(_run(tree, ["--help"], work))
            timings["studies"].append(_run(tree, ["studies", "--storage", studies], work))
            first_trial, first_result = _first_trial_s(tree, work, i)
            timings["first_trial"].append(first_trial)
            timings["first_result"].append(first_result)
    record = {
        "label": args.label,
        "tree": str(tree),
        "commit": commit,
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "median_s": {k: round(statistics.median(v), 3) for k, v in timings.items()},
        "runs_s": {k: [round(x, 3) for x in v] for k, v in timings.items()},
    }
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    results.append(record)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(record["median_s"]))


if __name__ == "__main__":
    main()
