"""Storage round trips per trial of an ``autorl worker`` on PostgreSQL, by what issued them.

A fresh database gets one study of N tiny fixed-cost trials (CartPole-v1, PPO, 2,048 steps,
4 evaluations); one worker serves it in this process while every SQL statement sent to the
server is counted (a SQLAlchemy ``before_cursor_execute`` listener on all engines) and
attributed to the autorl function up the stack that issued it: the claim (scheduler and
Optuna's ask), the heartbeat thread, reports of evaluations, attributes, the tell. The
result, per trial, goes to ``roundtrips.json`` with the machine; ``RESULTS.md`` turns it into
what 100 workers mean for one PostgreSQL server.

Usage: python benchmarks/service/roundtrips.py [ADMIN_URL] [TRIALS]
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

import sqlalchemy
from sqlalchemy import event

from autorl.settings import HeartbeatSettings
from benchmarks.pg import drop_database, fresh_database

ADMIN = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/test"
TRIALS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Where a statement comes from: the first of these (module, function) found up the stack.
ORIGINS = (
    ("heartbeat", "autorl/runtime/heartbeat.py", None),
    ("scheduler", "autorl/runtime/scheduler.py", None),
    ("stale-trial recovery", "autorl/study/recovery.py", None),
    ("report evaluation", "optuna/trial/_trial.py", "report"),
    ("prune decision", "optuna/trial/_trial.py", "should_prune"),
    ("trial attributes", "optuna/trial/_trial.py", "set_user_attr"),
    ("suggest (parameters)", "optuna/trial/_trial.py", "_suggest"),
    ("sampler (reads history)", "optuna/samplers", None),
    ("ask (claim a trial)", "optuna/study/study.py", "ask"),
    ("tell (finish a trial)", "optuna/study/_tell.py", None),
    ("load study", "autorl/study/factory.py", "load_study"),
    ("validation check", "autorl/runtime/loop.py", "_validate_if_done"),
    ("runner", "autorl/runtime/runner.py", None),
)


def origin(stack: list[traceback.FrameSummary]) -> str:
    for name, path, function in ORIGINS:
        for frame in reversed(stack):
            if path in frame.filename and (function is None or frame.name == function):
                return name
    return "other"


def watch(database: str, samples: list[int], done: threading.Event) -> None:
    """Connections the worker holds open to the database, sampled every 0.1 s (autocommit:
    pg_stat_activity is a snapshot per transaction)."""
    admin = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    query = sqlalchemy.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d")
    with admin.connect() as conn:
        while not done.wait(0.1):
            samples.append(conn.execute(query, {"d": database}).scalar_one())
    admin.dispose()


def main() -> None:
    url = fresh_database("autorl_bench_rt", ADMIN)
    database = url.rsplit("/", 1)[1]
    try:
        subprocess.run(
            [sys.executable, "-m", "autorl", "tune", "CartPole-v1", "--study", "rt", "--no-run",
             "--trials", str(TRIALS), "--timesteps", "2048", "--evaluations", "4",
             "--eval-episodes", "2", "--validation-seeds", "0", "--pruner", "none",
             "--warm-start", "none", "--storage", url, "--no-progress"],
            check=True, cwd=ROOT, env={**os.environ, "AUTORL_SEED_KB": "none"},
        )  # fmt: skip
        counts: Counter[str] = Counter()
        lock = threading.Lock()

        def count(conn, cursor, statement, parameters, context, executemany) -> None:
            if "pg_stat_activity" in statement:
                return  # the watcher's own query
            stack = traceback.extract_stack(limit=60)
            where = origin(stack)
            with lock:
                counts[where] += 1
                if where == "other" and os.environ.get("RT_DEBUG"):
                    print("".join(traceback.format_list(stack[-12:])), statement[:80])

        connections: list[int] = []
        done = threading.Event()
        watcher = threading.Thread(target=watch, args=(database, connections, done), daemon=True)
        watcher.start()
        event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", count)
        from autorl.runtime.loop import WorkerSettings, serve

        started = time.perf_counter()
        ran = serve(WorkerSettings(url, "cpu", 1, exit_when_idle=True))
        wall = time.perf_counter() - started
        event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", count)
        done.set()
        watcher.join()
    finally:
        drop_database(url, ADMIN)
    total = sum(counts.values())
    record = {
        "trials": ran,
        "statements_total": total,
        "statements_per_trial": round(total / ran, 1),
        "by_origin_per_trial": {k: round(v / ran, 1) for k, v in counts.most_common()},
        "wall_s_per_trial": round(wall / ran, 2),
        "heartbeat_interval_s": HeartbeatSettings.from_env().interval_s,
        "connections_max": max(connections, default=0),
        "connections_median": sorted(connections)[len(connections) // 2] if connections else 0,
        "trial": "CartPole-v1 PPO 2048 steps, 4 evaluations of 2 episodes, 1 torch thread",
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    (HERE / "roundtrips.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
