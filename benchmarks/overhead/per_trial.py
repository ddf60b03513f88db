"""Per-trial overhead inside a worker, against the size of the knowledge base.

In one process (timings of one process are stable on a noisy VM, unlike two): a storage
holding H stored trials of past CartPole-v1 PPO studies (H = 0, 1,000, 10,000, 100,000;
copies of the trials of one real seed study, their learning rates jittered, 1,000 per study),
then a warm-started study of K trials on the same task, served the way ``autorl worker``
serves it (``autorl.runtime.loop.serve``; before the redesign one ``run_worker`` call per trial,
now one ``StudyWorker`` per study) and the way ``autorl tune`` runs it (one ``run_worker``
call for all K). Per trial:
  overhead = wall time of the trial - time inside SB3's ``learn()`` and autorl's
  evaluations (those in ``learn``'s callback and the final one after it),
so it holds everything autorl adds: loading the study, the sampler and its warm-start prior
(which reads the history), building env and model, storing results. Seed runs train in this
process (``AUTORL_TRIAL_ISOLATION=0``) so that the clock sees ``learn()``; what a child
process per seed run adds is measured by ``isolation.py``. Median and quartiles per
H and path, with the machine, go to ``per_trial.json``. The history storages are rebuilt in
``--workdir`` (not committed: 100,000 trials are ~100 MB of SQLite).

Usage: .venv/bin/python benchmarks/overhead/per_trial.py [--history 0,1000,10000,100000]
       [--trials 10] [--workdir /tmp/autorl-overhead] [--timesteps 1000]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "per_trial.json"
TIMESTEPS = 1000
PER_STUDY = 1000


def seed_lines(workdir: Path) -> list[dict[str, Any]]:
    """The knowledge-base lines of one real 8-trial seed study (run once, then reused)."""
    from autorl.knowledge.kb import export_kb, read_kb

    path = workdir / "seed.jsonl"
    if not path.exists():
        url = f"sqlite:///{workdir / 'seed.db'}"
        config, warm = study_setup(8, seeds=1)
        from autorl.runtime.submit import start_study
        from autorl.runtime.tune import run_study

        run_study(start_study("seed", url, config, 8, warm).study, url)
        export_kb(url, path)
    return read_kb(path)


def history_file(workdir: Path, size: int) -> Path:
    """A knowledge-base file with ``size`` trials in studies of PER_STUDY trials each."""
    path = workdir / f"history-{size}.jsonl"
    if path.exists():
        return path
    lines = seed_lines(workdir)
    task = [x for x in lines if x["kind"] == "task"]
    study = next(x for x in lines if x["kind"] == "study")
    trials = [x for x in lines if x["kind"] == "trial"]
    rng = random.Random(size)
    from autorl.knowledge.kb import FORMAT, VERSION

    body: list[dict[str, Any]] = [{"kind": "header", "format": FORMAT, "version": VERSION}, *task]
    for s in range((size + PER_STUDY - 1) // PER_STUDY):
        name = f"past-{s}"
        body.append({**study, "name": name})
        for i in range(min(PER_STUDY, size - s * PER_STUDY)):
            line = copy.deepcopy(trials[i % len(trials)])
            line.update(study=name, number=i, fingerprint=f"{name}-{i}")
            if "learning_rate" in line["params"]:  # jittered inside its distribution
                bounds = json.loads(line["distributions"]["learning_rate"])["attributes"]
                lr = line["params"]["learning_rate"] * rng.uniform(0.8, 1.25)
                line["params"]["learning_rate"] = min(max(lr, bounds["low"]), bounds["high"])
            body.append(line)
    counts = {k: sum(1 for x in body if x["kind"] == k) for k in ("task", "study", "trial")}
    body.append({"kind": "end", "counts": counts})
    path.write_text("".join(json.dumps(x, default=str) + "\n" for x in body))
    return path


def study_setup(trials: int, seeds: int = 1):
    from autorl.knowledge.warmstart import WarmStartSettings
    from autorl.spaces import load_space
    from autorl.study.config import StudyConfig, seed_fields, tuning_evaluation
    from autorl.types import TaskSpec

    fields, _ = seed_fields(seeds=seeds)
    config = StudyConfig(
        task=TaskSpec("CartPole-v1"),
        algo="ppo",
        space=load_space("ppo").to_dict(),
        timesteps=TIMESTEPS,
        **fields,
        evaluation=tuning_evaluation(2, 2),
        pruner="none",
        validation_seeds=0,
        sampler_seed=0,
        device="cpu",
    )
    return config, WarmStartSettings(mode="auto")


class LearnClock:
    """Seconds spent inside SB3's ``learn()`` and autorl's evaluations since ``reset``.

    ``learn`` is patched where it is implemented (``OnPolicyAlgorithm``,
    ``OffPolicyAlgorithm``: ``BaseAlgorithm.learn`` is abstract, and a clock on it never
    ran, so runs before 2026-12-01 22:40 counted the training in the overhead), and
    ``EvaluationEnv.run`` (the final evaluation runs after ``learn``); nested calls (an
    evaluation inside ``learn``'s callback) are counted once.
    """

    def __init__(self) -> None:
        from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
        from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

        from autorl.training.evaluate import EvaluationEnv

        self.inside = 0.0
        self.total = 0.0  # never reset: the whole run's training and evaluation
        self.calls = 0
        self._depth = 0
        for owner, name in (
            (OnPolicyAlgorithm, "learn"),
            (OffPolicyAlgorithm, "learn"),
            (EvaluationEnv, "run"),
        ):
            setattr(owner, name, self._timed(getattr(owner, name)))

    def _timed(self, original):
        clock = self

        def timed(*args, **kwargs):
            clock._depth += 1
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                clock._depth -= 1
                if clock._depth == 0:
                    clock.inside += time.perf_counter() - began
                    clock.total += time.perf_counter() - began
                    clock.calls += 1

        return timed


class SqlCounter:
    """SQL statements and commits of every engine in the process: the part of the overhead
    that a busy machine's noise cannot blur (the same trials issue the same statements)."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.statements = self.commits = 0

        def statement(*_args) -> None:
            self.statements += 1

        def commit(*_args) -> None:
            self.commits += 1

        event.listen(Engine, "before_cursor_execute", statement)
        event.listen(Engine, "commit", commit)


def served_overheads(url: str, trials: int, clock: LearnClock) -> list[float]:
    """``autorl worker``'s loop (``serve``): per trial, the time of its ``run_one`` plus any
    set-up of the study (``StudyWorker``) done for it, minus the time inside ``learn()``."""
    from autorl.runtime.runner import StudyWorker

    setup, run_one, overheads = StudyWorker.__init__, StudyWorker.run_one, []
    pending = [0.0]  # set-up time not yet charged to a trial

    def timed_setup(self, *args, **kwargs):
        began = time.perf_counter()
        setup(self, *args, **kwargs)
        pending[0] += time.perf_counter() - began

    def timed_run(self):
        clock.inside, began = 0.0, time.perf_counter()
        outcome = run_one(self)
        if outcome is not None:
            overheads.append(time.perf_counter() - began - clock.inside + pending[0])
            pending[0] = 0.0
        return outcome

    StudyWorker.__init__, StudyWorker.run_one = timed_setup, timed_run
    import autorl.runtime.loop as loop

    try:  # only this study has work: the loop serves it trial by trial, then is idle
        loop.serve(loop.WorkerSettings(url, exit_when_idle=True, max_trials=trials))
    finally:
        StudyWorker.__init__, StudyWorker.run_one = setup, run_one
    return overheads


def tune_overheads(url: str, name: str, clock: LearnClock) -> list[float]:
    """``autorl tune``'s loop: one ``run_worker`` call for every trial (timed between ends)."""
    from autorl.runtime.runner import WorkerOptions, run_worker

    marks, inside = [time.perf_counter()], [0.0]
    clock.inside = 0.0

    def ended(_study) -> None:
        marks.append(time.perf_counter())
        inside.append(clock.inside)

    run_worker(WorkerOptions(url, name), on_trial_end=ended)
    return [(marks[i + 1] - marks[i]) - (inside[i + 1] - inside[i]) for i in range(len(marks) - 1)]


def measure(
    workdir: Path, size: int, trials: int, clock: LearnClock, sql: SqlCounter
) -> dict[str, Any]:
    from autorl.knowledge.kb import import_kb
    from autorl.runtime.submit import start_study

    url = f"sqlite:///{workdir / f'measure-{size}.db'}"
    (workdir / f"measure-{size}.db").unlink(missing_ok=True)
    began = time.perf_counter()
    if size:
        import_kb(url, history_file(workdir, size))
    out: dict[str, Any] = {"history": size, "import_s": round(time.perf_counter() - began, 1)}
    config, warm = study_setup(trials)
    for path in ("worker", "tune"):
        start_study(f"target-{path}", url, config, trials, warm)
        statements, commits, trained = sql.statements, sql.commits, clock.total
        if path == "worker":
            overheads = served_overheads(url, trials, clock)
        else:
            overheads = tune_overheads(url, f"target-{path}", clock)
        q = statistics.quantiles(overheads, n=4) if len(overheads) > 1 else overheads * 3
        out[path] = {
            "trials": len(overheads),
            "median_ms": round(1000 * statistics.median(overheads), 1),
            "q1_ms": round(1000 * q[0], 1),
            "q3_ms": round(1000 * q[2], 1),
            "per_trial_ms": [round(1000 * x, 1) for x in overheads],
            # (overhead + training and evaluation) / training and evaluation, all trials
            "ratio_to_sb3": round(1 + sum(overheads) / (clock.total - trained), 4),
            # the study's set-up included (once per path)
            "sql_statements_per_trial": round((sql.statements - statements) / len(overheads), 1),
            "sql_commits_per_trial": round((sql.commits - commits) / len(overheads), 1),
        }
    return out


def main() -> None:
    global TIMESTEPS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", default="0,1000,10000,100000")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/autorl-overhead"))
    parser.add_argument("--label", default="current", help="the key of this run in the file")
    parser.add_argument("--timesteps", type=int, default=TIMESTEPS, help="per trial")
    args = parser.parse_args()
    TIMESTEPS = args.timesteps
    os.environ.setdefault("AUTORL_SEED_KB", "none")
    # learn() must run in this process for the clock to see it: the cost of training in a
    # child process (the default) is measured apart, by isolation.py
    os.environ["AUTORL_TRIAL_ISOLATION"] = "0"
    args.workdir.mkdir(parents=True, exist_ok=True)
    import torch

    from autorl.runtime.isolation import PRELOAD

    torch.set_num_threads(1)
    # The process's one-time imports (what the fork server preloads: the trainer, and the
    # torch._dynamo that torch imports when a process builds its first optimizer, ~1.5 s) are
    # paid here, before either path is timed: a process pays them once, at its start
    # (startup.py), not per trial. Until 2026-12-03 the worker path, timed first, paid them in
    # its first trial and the tune path, timed second, did not.
    began = time.perf_counter()
    for module in PRELOAD:
        importlib.import_module(module)
    warm_up_s = round(time.perf_counter() - began, 2)
    clock, sql = LearnClock(), SqlCounter()
    rows = [measure(args.workdir, int(h), args.trials, clock, sql) for h in args.history.split(",")]
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {
        "rows": rows,
        "timesteps": TIMESTEPS,
        "imports_before_timing_s": warm_up_s,
        "machine": {"cpu": platform.processor(), "cores": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.write_text(json.dumps(results, indent=1))
    for row in rows:
        print(
            row["history"],
            *(
                (
                    row[p]["median_ms"],
                    row[p]["sql_statements_per_trial"],
                    row[p]["sql_commits_per_trial"],
                )
                for p in ("worker", "tune")
            ),
        )


if __name__ == "__main__":
    main()
