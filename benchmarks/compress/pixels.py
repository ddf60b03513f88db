"""Pixels: the CNN a pixel task's default space searches, against an MLP on the same
flattened frames, at equal trials, env steps per trial and sampler seed.

For each sampler seed, two cold studies (no warm start) in ``studies/pixels.db`` (resumable:
rerun and a study continues): ``cnn``, ``autorl tune`` with the algorithm's default space
(which, for image observations, searches ``cnn``, ``cnn_features`` and ``frame_stack``), and
``mlp``, the same with ``--space ppo`` (the shipped file as it is: ``MlpPolicy`` on the
flattened frames). ``autorl tune`` tests each study's chosen configuration on 5 test seeds
(100000..100004, 20 episodes each, seeded from 200000) that no choice used; the result, with
the chosen configuration's acting parameters, env steps and the machine, lands in
``results/pixels-TASK-sSEED-ARM.json`` (a file that exists is skipped).

    .venv/bin/python benchmarks/compress/pixels.py --arms cnn,mlp --seeds 0
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from tuned import cold_tune, machine, tested  # benchmarks/compress/tuned.py

HERE = Path(__file__).resolve().parent
STATE, RESULTS = HERE / "studies", HERE / "results"
TASKS: dict[str, dict[str, Any]] = {
    "breakout": {"env_id": "MinAtar/Breakout-v1", "algo": "ppo", "timesteps": 30_000, "trials": 6},
}
ARMS = {"cnn": [], "mlp": ["--space", "ppo"]}
log = logging.getLogger("pixels")


def run(name: str, seed: int, arm: str) -> None:
    out = RESULTS / f"pixels-{name}-s{seed}-{arm}.json"
    if out.exists():
        log.info("%s exists: skipped", out)
        return
    from autorl.compress.onnx_policy import play
    from autorl.training.cost import policy_cost
    from autorl.types import TaskSpec, TrainConfig

    task, study_name = TASKS[name], f"{name}-pixels-s{seed}-{arm}"
    STATE.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{STATE / 'pixels.db'}"
    tuned_s = cold_tune(
        task["env_id"], task["algo"], study_name, url, task["trials"], task["timesteps"],
        seed, *ARMS[arm],
    )  # fmt: skip
    chosen, record = tested(study_name, url, tuned_s)
    trained = TrainConfig.from_dict(chosen.user_attrs["config"])
    cost = policy_cost(TaskSpec(task["env_id"]), trained, "cpu")
    random = play(TaskSpec(task["env_id"]), None, 100, 200_000)  # uniformly random actions
    result = {
        "task": task,
        "arm": arm,
        "sampler_seed": seed,
        "random_return": sum(random) / len(random),
        "policy": trained.policy,
        "policy_kwargs": trained.sb3_kwargs.get("policy_kwargs"),
        "frame_stack": trained.env.frame_stack,
        "acting_params": cost.params,
        "latency_us": cost.latency_us,
        **record,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    log.info("wrote %s: test %.2f", out, result["test_mean"])


def check_learning(timesteps: int = 100_000) -> None:
    """One fixed configuration (PPO, 8 envs, a 16x3 CNN of 128 features) per MinAtar game,
    against random play on the same 20 episodes (seeded from 200000): does the CNN path
    learn at all. Prints, and writes ``results/pixels-learning.json``."""
    import numpy as np
    import torch

    from autorl.compress.onnx_policy import play
    from autorl.training.evaluate import evaluate
    from autorl.training.trainer import train_model
    from autorl.types import EnvSettings, EvalSettings, TaskSpec, TrainConfig, TrainSpec

    torch.set_num_threads(1)
    kwargs = {
        "n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": 2.5e-4,
        "ent_coef": 0.01,
        "policy_kwargs": {"cnn": {"layers": [[16, 3, 1]], "features_dim": 128}, "net_arch": [64]},
    }  # fmt: skip
    config = TrainConfig("ppo", "CnnPolicy", kwargs, EnvSettings(n_envs=8))
    rows = []
    for game in ("SpaceInvaders", "Breakout"):
        task = TaskSpec(f"MinAtar/{game}-v1")
        began = time.monotonic()
        spec = TrainSpec(task, config, timesteps, 0, EvalSettings(n_evaluations=1))
        model, venv = train_model(spec)
        venv.close()
        seconds = time.monotonic() - began
        trained = evaluate(model, task, config.env, 20, 200_000).mean
        random = float(np.mean(play(task, None, 20, 200_000)))
        rows.append({"env_id": task.env_id, "timesteps": timesteps, "train_s": round(seconds, 1),
                     "return": trained, "random_return": random})  # fmt: skip
        log.info("%s: %.1f after %d steps (%.0f s), random play %.1f", game, trained,
                 timesteps, seconds, random)  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"config": config.to_dict(), "training_seed": 0, "episodes": 20,
           "first_episode": 200_000, "games": rows, "machine": machine()}  # fmt: skip
    (RESULTS / "pixels-learning.json").write_text(json.dumps(out, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-learning", action="store_true", help="see check_learning")
    parser.add_argument("--tasks", default="breakout")
    parser.add_argument("--arms", default="cnn,mlp")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("AUTORL_SEED_KB", "none")
    if args.check_learning:
        check_learning()
        return
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in args.tasks.split(","):
            for arm in args.arms.split(","):
                run(name, seed, arm)


if __name__ == "__main__":
    main()
