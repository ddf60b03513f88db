"""A population-based training run on this machine: its task checked, ``jobs`` workers
until it ends, and the winner tested on episodes no generation's evaluation used."""

from __future__ import annotations

import logging
from typing import Any

from autorl.db import population as store
from autorl.pbt.records import DONE, PbtRun
from autorl.runtime.isolation import call_apart
from autorl.runtime.population import SEGMENT_TIMEOUT_S, segment_config, winner, work
from autorl.types import TaskSpec

TEST_SEED = 200_000  # the winner's test episodes (no generation's evaluation used them)
TEST_EPISODES = 20


def check_task(algo: str, task: TaskSpec) -> str:
    """Build the env in a child process, check the algorithm can act in it; its action kind."""
    return call_apart(_check, algo, task, timeout_s=600.0)


def _check(algo: str, task: TaskSpec) -> str:
    from autorl.envs.gym_tasks import action_space_kind, check_compatible, make_env
    from autorl.envs.smoke import smoke_test

    env = make_env(task)
    try:
        check_compatible(algo, task, env)
        smoke_test(task, env)
        return action_space_kind(env.action_space)
    finally:
        env.close()


def _worker_process(url: str, name: str, device: str) -> None:
    from autorl.training.device import set_threads

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    set_threads(1)
    work(url, name, device)


def run_here(url: str, name: str, jobs: int = 1, device: str = "cpu") -> PbtRun:
    """Work the run with ``jobs`` workers in this machine until it ends; the stored run."""
    import multiprocessing

    from autorl.training.device import set_threads

    if jobs == 1:
        set_threads(1)
        work(url, name, device)
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_worker_process, args=(url, name, device)) for _ in range(jobs)]
        for p in procs:
            p.start()
        try:
            for p in procs:
                p.join()
        finally:
            for p in procs:
                if p.is_alive():
                    p.terminate()
                    p.join(timeout=30)
    run = store.get_run(url, name)
    assert run is not None
    return run


def publish_winner(url: str, run: PbtRun, device: str = "cpu") -> dict[str, Any] | None:
    """The winning member's final policy on ``TEST_EPISODES`` episodes seeded from
    ``TEST_SEED`` (no generation's evaluation used them), stored with the run; None before
    the run has ended well. Tested once: a second call reads the stored record."""
    if run.state != DONE:
        return None
    stored = store.get_outcome(url, run.id)
    if stored is not None:
        return stored
    best = winner(url, run)
    if best is None:
        return None
    data = store.load_checkpoint(url, run.id, best.member, best.generation)
    if data is None:
        return None
    from autorl.training.segments import evaluate_checkpoint

    config = segment_config(run, best.params)
    evaluation = call_apart(
        evaluate_checkpoint, data, run.task, config, TEST_EPISODES, TEST_SEED, device,
        timeout_s=SEGMENT_TIMEOUT_S,
    )  # fmt: skip
    outcome = {
        "member": best.member,
        "selection_score": best.score,
        "test_score": evaluation.mean,
        "test_returns": list(evaluation.returns),
        "test_episodes": TEST_EPISODES,
        "test_seed": TEST_SEED,
        "env_steps": best.result.get("env_steps"),
        "checkpoint_bytes": store.checkpoint_bytes(url, run.id),
    }
    store.set_outcome(url, run.id, outcome)
    return outcome
