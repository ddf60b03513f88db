"""What a configuration's policy costs to ship: its acting parameters and its latency.

Both are properties of the architecture, not of training: they are measured on a freshly
built (untrained) model, before a trial trains, so that a multi-objective study can judge a
trial against the trials no larger than it from its first evaluation on.

- **Acting parameters**: the parameters ``policy.predict(obs, deterministic=True)`` uses, found
  by running that forward pass with hooks on every module (a critic, a target network, a
  value head or gSDE's exploration matrix are not counted: a shipped policy leaves them out).
  For PPO's default CartPole network this is 4,610 of its 9,155 parameters.
- **Latency**: the median wall time of that forward pass (batch 1, no gradient, one CPU
  thread, on the model's device, CUDA synchronised), in microseconds: the network's time,
  without SB3's numpy conversions around it.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from autorl.training.device import apply_threads
from autorl.training.envs import make_vec_env
from autorl.training.models import build_model
from autorl.types import TaskSpec, TrainConfig

LATENCY_CALLS = 200  # timed forward passes (after WARMUP_CALLS untimed ones)
WARMUP_CALLS = 20


@dataclass(frozen=True)
class PolicyCost:
    """The acting network's parameters and its latency per action (µs) on ``device``."""

    params: int
    latency_us: float
    device: str

    def to_dict(self) -> dict[str, object]:
        return {"params": self.params, "latency_us": self.latency_us, "device": self.device}


def _observation(model: BaseAlgorithm) -> torch.Tensor:
    sample = model.observation_space.sample()
    obs, _ = model.policy.obs_to_tensor(np.asarray(sample))
    return obs


def acting_parameters(model: BaseAlgorithm) -> int:
    """Parameters the deterministic action of ``model``'s policy depends on.

    Where the action is differentiable (a Box action: PPO's mean, SAC's squashed mean, TD3's
    actor) those whose gradient it reaches, so SAC's log-std head and PPO's log-std are left
    out; where it is not (an argmax over logits or Q-values) those of every module the
    forward pass runs.
    """
    policy = model.policy
    used: dict[int, torch.nn.Module] = {}

    def seen(module: torch.nn.Module, _inputs: object, _output: object) -> None:
        used[id(module)] = module  # returns None: the output is left as it is

    hooks = [m.register_forward_hook(seen) for m in policy.modules() if m is not policy]
    policy.zero_grad(set_to_none=True)
    try:
        with torch.enable_grad():
            action = policy._predict(_observation(model), deterministic=True)
            if action.requires_grad:
                action.float().sum().backward()
    finally:
        for hook in hooks:
            hook.remove()
    params = [p for m in used.values() for p in m.parameters(recurse=False)]
    if action.requires_grad:
        params = [p for p in params if p.grad is not None]
        policy.zero_grad(set_to_none=True)
    return sum(p.numel() for p in params)


def action_latency_us(model: BaseAlgorithm, calls: int = LATENCY_CALLS) -> float:
    """Median µs of one deterministic forward pass, batch 1, on the model's device."""
    policy, obs = model.policy, _observation(model)
    cuda = obs.device.type == "cuda"
    times = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batch 1 of a small network: one thread is the fastest way
    with torch.no_grad():
        for k in range(WARMUP_CALLS + calls):
            began = time.perf_counter()
            policy._predict(obs, deterministic=True)
            if cuda:
                torch.cuda.synchronize(obs.device)
            if k >= WARMUP_CALLS:
                times.append(time.perf_counter() - began)
    torch.set_num_threads(threads)
    return statistics.median(times) * 1e6


def policy_cost(task: TaskSpec, config: TrainConfig, device: str = "cpu") -> PolicyCost:
    """Build ``config``'s model on ``task`` (untrained) and measure what its policy costs."""
    apply_threads()
    venv = make_vec_env(task, config.env, seed=0)
    try:
        model = build_model(config, venv, seed=0, device=device)
        model.policy.set_training_mode(False)
        return PolicyCost(acting_parameters(model), action_latency_us(model), str(model.device))
    finally:
        venv.close()
