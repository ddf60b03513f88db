"""Chaos, measured: workers SIGKILLed, PostgreSQL and the API restarted, a poison configuration.

One study on a fresh PostgreSQL database, submitted through a real ``autorl serve``: CartPole
PPO with tiny trials (``benchmarks.chaos.envs:ChaosEnv``; a configuration with 16 envs aborts
every process that trains it: the poison, queued first; TPE may propose more). ``workers``
``autorl worker`` processes serve it; every ``kill_every_s`` seconds one of them, chosen at
random among those running a trial, is SIGKILLed and started again (once a trial has
finished since the last kill, so that a slow machine still makes progress); PostgreSQL is
restarted once (a third of the way to the budget) and the API once (two thirds). At the end
(the budget of finished trials reached, nothing running), the invariants and the figures:
  - exactly the budget of finished trials;
  - no finished trial lost: every trial seen finished during the run is still finished, with
    the same value;
  - no configuration trained twice without a recorded retry: two counted trials with the
    same parameters are explained by ``requeued_from``, a re-race, or seed runs taken over;
  - every failed trial has its reason (a lost worker's trial: ``killed``, its configuration
    queued again unless its retries are spent; Optuna's heartbeat path, from another machine,
    leaves no reason but queues it again; a failure with neither is lost);
  - only the poison crashes (TPE may propose it again: each proposal crashes after its retries);
  - kills survived, restarts, trials by outcome, time lost to killed and crashed tries.
Results go to ``results.json`` (by label, with the machine).

Usage: .venv/bin/python benchmarks/chaos/chaos.py [--workers 3] [--budget 30] [--kill-every 20]
       [--no-postgres-restart] [--no-api-restart] [--label NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna

from benchmarks.pg import drop_database, fresh_database

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results.json"
ADMIN_URL = os.environ.get("AUTORL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOKEN = "chaos-token-0123456789"
STUDY = "chaos"
POISON = {"n_envs": 16}


@dataclass(frozen=True)
class ChaosPlan:
    workers: int = 3
    budget: int = 30
    timesteps: int = 2000
    kill_every_s: float = 20.0
    restart_postgres: bool = True
    restart_api: bool = True
    timeout_s: float = 1800.0
    seed: int = 0


class Processes:
    """The API and the workers, as the run starts, kills and restarts them."""

    def __init__(self, url: str, workdir: Path, workers: int) -> None:
        self.url, self.workdir = url, workdir
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "AUTORL_API_TOKEN": TOKEN,
            "AUTORL_API_ENTRY_POINTS": "benchmarks.chaos",
            "AUTORL_SEED_KB": "none",
            "AUTORL_HEARTBEAT_INTERVAL": "2",
            "AUTORL_HEARTBEAT_GRACE": "10",
        }
        self.port = _free_port()
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started = 0
        self.count = workers

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        out = open(self.logs / log, "a")  # noqa: SIM115 (the process owns it)
        return subprocess.Popen(
            [sys.executable, "-m", "autorl.cli", *args],
            cwd=self.workdir,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def start_api(self) -> None:
        self.api = self._spawn(
            ["serve", "--port", str(self.port), "--storage", self.url], "api.log"
        )
        _wait_until(lambda: _get(f"{self.api_url}/healthz") is not None, 60, "the API")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_worker(self) -> subprocess.Popen:
        self.started += 1
        args = ["worker", "--storage", self.url, "--threads", "1", "--poll", "1"]
        return self._spawn(args, f"worker-{self.started}.log")

    def start_workers(self) -> None:
        self.workers = [self.start_worker() for _ in range(self.count)]

    def kill_one(self, rng: random.Random, busy: set[int]) -> bool:
        """SIGKILL a worker that runs a trial (chosen at random) and start another; False
        when none runs one."""
        candidates = [i for i, w in enumerate(self.workers) if w.pid in busy]
        if not candidates:
            return False
        i = rng.choice(candidates)
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait()
        self.workers[i] = self.start_worker()
        return True

    def stop(self) -> None:
        for proc in [*self.workers, self.api]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.api]:
            if proc is not None:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _wait_until(done, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout_s:.0f} s")
        time.sleep(0.3)


def restart_postgres() -> float:
    """``pg_ctlcluster`` restart; the seconds until it answers again."""
    began = time.monotonic()
    version = sorted(os.listdir("/etc/postgresql"))[0] if os.path.isdir("/etc/postgresql") else "15"
    subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True, capture_output=True)
    _wait_until(
        lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0, 60, "pg"
    )
    return time.monotonic() - began


def _snapshot(url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=STUDY, storage=url).get_trials(deepcopy=False)
    except Exception:  # the database is restarting
        return []


def analyse(trials: list[optuna.trial.FrozenTrial], seen: dict[int, tuple], budget: int) -> dict:
    """The run's invariants and figures from the study's trials at the end."""
    from autorl.study import attrs
    from autorl.study.accounting import counts_against_budget, failure_reason

    by_number = {t.number: t for t in trials}
    lost = [
        n
        for n, (state, value) in seen.items()
        if (n not in by_number or (by_number[n].state.name, by_number[n].value) != (state, value))
    ]
    counted = [t for t in trials if counts_against_budget(t)]
    requeued_from = {t.user_attrs.get(attrs.REQUEUED_FROM) for t in trials}
    groups: dict[str, list] = {}
    for t in counted:
        groups.setdefault(json.dumps(t.params, sort_keys=True), []).append(t)
    unexplained = 0
    for group in groups.values():
        for t in sorted(group, key=lambda t: t.number)[1:]:
            source = str(t.user_attrs.get(attrs.SOURCE, ""))
            taken = all("from_trial" in s for s in t.user_attrs.get(attrs.SEEDS) or [{}])
            if not (
                t.user_attrs.get(attrs.REQUEUED_FROM) is not None
                or source.startswith(attrs.RERACE)
                or taken
            ):
                unexplained += 1
    failed = [t for t in trials if t.state.name == "FAIL"]
    no_reason = [t for t in failed if attrs.FAILURE_REASON not in t.user_attrs]
    orphaned = [t for t in no_reason if t.number not in requeued_from]
    lost_s = sum(
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in failed
        if t.datetime_complete and t.datetime_start and failure_reason(t) in ("killed", "requeued")
    )
    return {
        "finished": len(counted),
        "budget": budget,
        "exact_budget": len(counted) == budget,
        "finished_trials_lost": len(lost),
        "unexplained_duplicates": unexplained,
        "failed_without_reason_or_requeue": len(orphaned),
        "crashed_not_poison": sum(
            1
            for t in trials
            if failure_reason(t) in ("crashed", "requeued")
            and any(t.params.get(k) != v for k, v in POISON.items())
        ),
        "outcomes": dict(Counter(failure_reason(t) or t.state.name.lower() for t in trials)),
        "trials": len(trials),
        "time_lost_s": round(lost_s, 1),
    }


def run(plan: ChaosPlan, workdir: Path) -> dict[str, Any]:
    """The chaos run; its figures (see the module's docstring)."""
    rng = random.Random(plan.seed)
    url = fresh_database("autorl_chaos", ADMIN_URL)
    procs = Processes(url, workdir, plan.workers)
    events: Counter[str] = Counter()
    seen: dict[int, tuple] = {}
    began = time.monotonic()
    try:
        procs.start_api()
        _post(
            f"{procs.api_url}/v1/studies",
            {
                "env_id": "AutorlChaos-v0",
                "entry_point": "benchmarks.chaos.envs:ChaosEnv",
                "env_kwargs": {"max_episode_steps": 200},
                "algo": "ppo",
                "trials": plan.budget,
                "timesteps": plan.timesteps,
                "evaluations": 2,
                "eval_episodes": 2,
                "max_seeds": 2,
                "min_seeds": 2,
                "validation_seeds": 0,
                "warm_start": "none",
                "name": STUDY,
            },
        )
        from autorl.spaces import SearchSpace
        from autorl.study.accounting import counts_against_budget
        from autorl.study.enqueue import enqueue
        from autorl.study.factory import stored_config

        study = optuna.load_study(study_name=STUDY, storage=url)
        space = SearchSpace.from_dict(stored_config(study).space)
        draft = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=plan.seed))
        poison = {**space.sample(draft.ask(), "discrete"), **POISON}  # a whole configuration
        enqueue(study, space, [poison], source="enqueued")
        procs.start_workers()
        next_kill, finished_at_kill = time.monotonic() + plan.kill_every_s, -1
        pg_at, api_at = plan.budget // 3, 2 * plan.budget // 3
        while time.monotonic() - began < plan.timeout_s:
            trials = _snapshot(url)
            for t in trials:
                if t.state.name in ("COMPLETE", "PRUNED"):
                    seen.setdefault(t.number, (t.state.name, t.value))
            finished = sum(1 for t in trials if counts_against_budget(t))
            running = sum(1 for t in trials if t.state.name == "RUNNING")
            if trials and finished >= plan.budget and not running:
                break
            # a kill every kill_every_s, of a worker mid-trial, once a trial finished since
            # the last one (so that a slow machine still makes progress between kills)
            if time.monotonic() >= next_kill and finished > finished_at_kill:
                busy = {
                    int(str(t.user_attrs.get("worker", ":0")).rsplit(":", 1)[1] or 0)
                    for t in trials
                    if t.state.name == "RUNNING"
                }
                if procs.kill_one(rng, busy):
                    events["workers_killed"] += 1
                    finished_at_kill = finished
                    next_kill = time.monotonic() + plan.kill_every_s
            if plan.restart_postgres and not events["postgres_restarts"] and finished >= pg_at:
                events["postgres_down_s"] = round(restart_postgres(), 1)
                events["postgres_restarts"] += 1
            if plan.restart_api and not events["api_restarts"] and finished >= api_at:
                procs.api.send_signal(signal.SIGKILL)
                procs.api.wait()
                procs.start_api()
                assert _get(f"{procs.api_url}/v1/studies/{STUDY}") is not None
                events["api_restarts"] += 1
            time.sleep(1)
        wall = time.monotonic() - began
        procs.stop()
        result = analyse(_snapshot(url), seen, plan.budget)
        result.update(events, wall_s=round(wall, 1), plan=asdict(plan))
        result["timed_out"] = wall >= plan.timeout_s
        return result
    finally:
        procs.stop()
        drop_database(url, ADMIN_URL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--kill-every", type=float, default=20.0)
    parser.add_argument("--timesteps", type=int, default=2000)
    parser.add_argument("--no-postgres-restart", action="store_true")
    parser.add_argument("--no-api-restart", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/autorl-chaos"))
    parser.add_argument("--label", default="run")
    args = parser.parse_args()
    plan = ChaosPlan(
        workers=args.workers,
        budget=args.budget,
        timesteps=args.timesteps,
        kill_every_s=args.kill_every,
        restart_postgres=not args.no_postgres_restart,
        restart_api=not args.no_api_restart,
    )
    result = run(plan, args.workdir)
    result["machine"] = {"cpu": platform.processor(), "cores": os.cpu_count()}
    result["date"] = time.strftime("%Y-%m-%d %H:%M")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = result
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
