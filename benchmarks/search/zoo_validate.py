"""Validate the RL Zoo optimiser's best trial exactly as autorl validates its own.

Runs in a virtual environment with rl_zoo3 installed. The best trial's parameters go through
RL Zoo's own sampler (an optuna FixedTrial), the result is merged with RL Zoo's per-env
hyperparameters (and RL Zoo's VecNormalize where its file asks for it), then trained on
held-out seeds 100000+k and evaluated on 20 deterministic episodes seeded 200000+i (test seed
k: 200000 + k * STEP + i, STEP default 0), as ``autorl`` does. Prints one JSON line.
Resumable: each test seed's score is kept, as soon as it is measured, in
``zoo-test-STUDY-tTRIAL-TIMESTEPS-sSTEP.json`` beside a SQLite storage (one run of RL Zoo's
configuration can take 20 minutes here), and not trained again.
Usage: python zoo_validate.py STORAGE STUDY ALGO ENV TIMESTEPS SEEDS [STEP]
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import optuna
import yaml
from rl_zoo3 import ALGOS
from rl_zoo3.hyperparams_opt import HYPERPARAMS_SAMPLER
from rl_zoo3.utils import get_latest_run_id  # noqa: F401  (import check: rl_zoo3 is complete)
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

EPISODES, EVAL_SEED, TRAIN_SEED = 20, 200_000, 100_000


def zoo_defaults(algo: str, env_id: str) -> dict:
    import importlib.resources

    text = (importlib.resources.files("rl_zoo3") / "hyperparams" / f"{algo}.yml").read_text()
    return dict(yaml.safe_load(text)[env_id])


def _normalize_kwargs(defaults: dict) -> dict | None:
    """RL Zoo's VecNormalize arguments for the task (None: it does not normalise). As RL Zoo
    does, the running return's discount is the per-env file's gamma, not the sampled one."""
    normalize = defaults.get("normalize", False)
    if not normalize:
        return None
    kwargs = dict(eval(normalize)) if isinstance(normalize, str) else {}  # RL Zoo's own file
    if "gamma" in defaults:
        kwargs.setdefault("gamma", defaults["gamma"])
    return kwargs


def evaluate(model, env_id: str, first_seed: int, normalizer: VecNormalize | None) -> float:
    """Mean return of 20 deterministic episodes; observations go through the trained run's
    frozen normalisation statistics where it had them (RL Zoo's evaluation does the same)."""
    env = gym.make(env_id)
    returns = []
    for i in range(EPISODES):
        obs, _ = env.reset(seed=first_seed + i)
        total, done = 0.0, False
        while not done:
            seen = obs if normalizer is None else normalizer.normalize_obs(obs)
            action, _ = model.predict(seen, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def _cache_file(storage: str, study: str, trial: int, timesteps: int, step: int) -> Path | None:
    """Where the test seeds' scores are kept: beside a SQLite storage file (else nowhere)."""
    if not storage.startswith("sqlite:///"):
        return None
    folder = Path(storage.removeprefix("sqlite:///")).parent
    return folder / f"zoo-test-{study}-t{trial}-{timesteps}-s{step}.json"


def main() -> None:
    import torch

    torch.set_num_threads(1)  # as autorl's test runs (one per process)
    storage, study_name, algo, env_id = sys.argv[1:5]
    timesteps, seeds = int(sys.argv[5]), int(sys.argv[6])
    step = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    study = optuna.load_study(study_name=study_name, storage=storage)
    best = study.best_trial
    defaults = zoo_defaults(algo, env_id)
    normalize = _normalize_kwargs(defaults)
    n_envs = int(defaults.get("n_envs", 1))
    probe = gym.make(env_id)
    n_actions = probe.action_space.shape[0] if probe.action_space.shape else 1
    probe.close()
    extra = {"using_her_replay_buffer": False, "her_kwargs": {}}
    sampled = HYPERPARAMS_SAMPLER[algo](
        optuna.trial.FixedTrial(best.params), n_actions, n_envs, extra
    )
    kwargs = {
        k: v
        for k, v in defaults.items()
        if k not in ("n_timesteps", "n_envs", "policy", "normalize")
    }
    if isinstance(kwargs.get("policy_kwargs"), str):
        from torch import nn  # noqa: F401  (RL Zoo's policy_kwargs strings name nn.*)

        kwargs["policy_kwargs"] = eval(kwargs["policy_kwargs"])  # RL Zoo's own file
    kwargs.update(sampled)
    cache = _cache_file(storage, study_name, best.number, timesteps, step)
    done: dict[str, float] = json.loads(cache.read_text()) if cache and cache.exists() else {}
    scores = []
    for k in range(seeds):
        if str(TRAIN_SEED + k) in done:
            scores.append(done[str(TRAIN_SEED + k)])
            continue
        venv = make_vec_env(env_id, n_envs=n_envs, seed=TRAIN_SEED + k)
        if normalize is not None:
            venv = VecNormalize(venv, **normalize)
        model = ALGOS[algo](
            defaults.get("policy", "MlpPolicy"), venv, seed=TRAIN_SEED + k, device="cpu", **kwargs
        )
        model.learn(total_timesteps=timesteps)
        normalizer = venv if isinstance(venv, VecNormalize) else None
        scores.append(evaluate(model, env_id, EVAL_SEED + k * step, normalizer))
        venv.close()
        if cache is not None:
            done[str(TRAIN_SEED + k)] = scores[-1]
            cache.write_text(json.dumps(done, indent=1) + "\n")
    print(
        json.dumps(
            {
                "best_trial": best.number,
                "tuning_score": best.value,
                "validated_mean": statistics.fmean(scores),
                "validated_std": statistics.pstdev(scores),
                "validated_scores": scores,
                "params": best.params,
                "test_seeds": [TRAIN_SEED + k for k in range(seeds)],
                "episode_seeds": [EVAL_SEED + k * step for k in range(seeds)],
            }
        )
    )


if __name__ == "__main__":
    main()
