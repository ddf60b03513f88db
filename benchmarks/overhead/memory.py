"""Memory of an ``autorl tune`` run: the peak proportional set size (PSS: shared pages split
between the processes that share them) of its whole process tree, sampled every 0.2 s, and
the peak of each kind of process in it (the tuning process, its ``--jobs`` workers, their
fork servers, the training children).

``--tree DIR`` runs another checkout's code (``PYTHONPATH=DIR``: the "before" of a change)
with this environment's packages. Results, with the machine, are appended to ``memory.json``.

Usage: .venv/bin/python benchmarks/overhead/memory.py [--tree DIR] [--jobs 2] [--label L]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from startup import commit_of, machine  # this folder's start-up benchmark

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "memory.json"
TUNE = ["tune", "CartPole-v1", "--trials", "4", "--timesteps", "3000", "--seeds", "1"]
TUNE += ["--evaluations", "2", "--eval-episodes", "2", "--test-seeds", "2", "--no-progress"]
TUNE += ["--warm-start", "none"]


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _role(pid: int, root: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if pid == root:
        return "tuning process"
    if "forkserver" in cmd:
        return "fork server"
    if "spawn_main" in cmd:
        return "--jobs worker"
    return "training child"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    tree = args.tree.resolve()
    commit = commit_of(tree)
    env = {**os.environ, "PYTHONPATH": str(tree), "AUTORL_SEED_KB": "none"}
    peak_total, peaks = 0, {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'memory.db'}"
        cmd = [sys.executable, "-m", "autorl.cli", *TUNE, "--jobs", str(args.jobs)]
        proc = subprocess.Popen(
            [*cmd, "--study", "m", "--storage", url],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while proc.poll() is None:
            pids = _tree(proc.pid)
            sizes = {p: _pss_kb(p) for p in pids}
            peak_total = max(peak_total, sum(sizes.values()))
            for p, kb in sizes.items():
                role = _role(p, proc.pid)
                peaks[role] = max(peaks.get(role, 0), kb)
            time.sleep(0.2)
    record = {
        "label": args.label,
        "commit": commit,
        "jobs": args.jobs,
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "exit": proc.returncode,
        "wall_s": round(time.perf_counter() - began, 1),
        "peak_total_pss_mb": round(peak_total / 1024, 1),
        "peak_pss_mb_by_process_kind": {k: round(v / 1024, 1) for k, v in sorted(peaks.items())},
    }
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    results.append(record)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
