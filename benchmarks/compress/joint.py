"""Joint hyperparameter + architecture search against hyperparameter search on SB3's default
network, at equal trials, env steps per trial and sampler seeds.

For each task and sampler seed, two cold studies (no warm start) in ``studies/joint.db``
(resumable): ``joint``, ``autorl tune`` with the algorithm's shipped space (depth, width,
activation, shared or separate trunk, orthogonal init searched with everything else), and
``default``, the same space with the network fixed to SB3's default for the algorithm
(``--space`` a file of it: ``DEFAULT_NETWORK``). Both race over seeds as ``autorl tune``
does; ``autorl tune`` tests each chosen configuration on 5 test seeds (100000..100004, 20
episodes each, seeded from 200000) that no choice used. One JSON per study in
``results/joint-TASK-sSEED-ARM.json`` with the env steps spent and the machine.

    .venv/bin/python benchmarks/compress/joint.py --tasks cartpole --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Any

from tuned import cold_tune, tested  # benchmarks/compress/tuned.py

HERE = Path(__file__).resolve().parent
STATE, RESULTS = HERE / "studies", HERE / "results"
TASKS: dict[str, dict[str, Any]] = {
    "cartpole": {"env_id": "CartPole-v1", "algo": "ppo", "timesteps": 20_000, "trials": 12},
    "acrobot": {"env_id": "Acrobot-v1", "algo": "ppo", "timesteps": 30_000, "trials": 12},
}
# SB3's default network: PPO/A2C 64x64 tanh, actor and critic apart, orthogonal init.
DEFAULT_NETWORK: dict[str, dict[str, Any]] = {
    "ppo": {
        "net_depth": 2,
        "net_width": 64,
        "activation": "tanh",
        "shared_trunk": False,
        "ortho_init": True,
    },
}
ARMS = ("joint", "default")
log = logging.getLogger("joint")


def default_space_file(algo: str) -> Path:
    """The shipped space of ``algo`` with SB3's default network fixed, as a file."""
    from autorl.spaces import load_space

    data = load_space(algo).with_fixed(DEFAULT_NETWORK[algo]).to_dict()
    data["params"] = {k: v for k, v in data["params"].items() if k != "head_depth"}
    data["name"] = f"{algo}-default-network"
    path = STATE / f"{algo}-default-network.json"
    STATE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def run(name: str, seed: int, arm: str) -> None:
    out = RESULTS / f"joint-{name}-s{seed}-{arm}.json"
    if out.exists():
        log.info("%s exists: skipped", out)
        return
    task, study_name = TASKS[name], f"{name}-joint-s{seed}-{arm}"
    STATE.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{STATE / 'joint.db'}"
    space = [] if arm == "joint" else ["--space", str(default_space_file(task["algo"]))]
    tuned_s = cold_tune(
        task["env_id"], task["algo"], study_name, url, task["trials"], task["timesteps"],
        seed, *space,
    )  # fmt: skip
    chosen, record = tested(study_name, url, tuned_s)
    policy_kwargs = chosen.user_attrs["config"]["sb3_kwargs"].get("policy_kwargs")
    result = {"task": task, "arm": arm, "sampler_seed": seed, "policy_kwargs": policy_kwargs,
              **record}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    log.info("wrote %s: test %.2f", out, result["test_mean"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="cartpole")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--arms", default=",".join(ARMS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("AUTORL_SEED_KB", "none")
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in args.tasks.split(","):
            for arm in args.arms.split(","):
                run(name, seed, arm)


if __name__ == "__main__":
    main()
