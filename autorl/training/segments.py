"""Training in segments (population-based training): checkpoint, restore, change, go on.

A member of a population trains up to a step boundary at a time. Between segments it is a
checkpoint, bytes that any worker can store and load:

- ``model.zip``: SB3's own save (weights and every optimiser's state);
- ``vecnormalize.npz``: the VecNormalize statistics, when the configuration normalises;
- ``replay.npz``: for off-policy algorithms, the filled part of the replay buffer (so a
  member that copies another learns from the transitions the copied weights were trained on).

A restored model gets the segment's hyperparameters with ``apply_hyperparameters``: each
parameter of ``catalog.MUTABLE`` is written where SB3 reads it at every update (the
optimisers' learning rate, PPO's clip-range schedule, the entropy and value coefficients,
DQN's exploration schedule, the soft-update coefficient), so a perturbation is never lost in
a restore (Ray issue #62173). Off-policy progress (learning-rate schedules, DQN's
exploration) runs over the whole run, not the segment; on-policy learn loops measure progress
per call, which is why population-based training fixes ``lr_schedule`` to constant.
"""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.utils import FloatSchedule, LinearSchedule, set_random_seed
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_normalize

from autorl.spaces.catalog import MUTABLE
from autorl.training.device import apply_threads
from autorl.training.envs import make_vec_env
from autorl.training.evaluate import EvaluationEnv, summarize
from autorl.training.guards import Deadline, check_parameters
from autorl.training.models import ALGORITHMS, build_model
from autorl.training.sb3_kwargs import materialize
from autorl.training.trainer import guarded_training_env, reraise_classified, train_model
from autorl.types import Evaluation, TaskSpec, TrainConfig, TrainSpec

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
_BUFFER_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


# --- hyperparameters on a live model ---------------------------------------------------------


def _optimizers(model: BaseAlgorithm) -> list[Any]:
    found: dict[int, Any] = {}
    for owner in (model.policy, getattr(model, "actor", None), getattr(model, "critic", None)):
        optimizer = getattr(owner, "optimizer", None)
        if optimizer is not None:
            found[id(optimizer)] = optimizer
    extra = getattr(model, "ent_coef_optimizer", None)
    if extra is not None:
        found[id(extra)] = extra
    return list(found.values())


def _set_learning_rate(model: BaseAlgorithm, value: Any) -> None:
    model.learning_rate = value
    model._setup_lr_schedule()
    rate = model.lr_schedule(model._current_progress_remaining)
    for optimizer in _optimizers(model):
        for group in optimizer.param_groups:
            group["lr"] = rate


def _set_exploration(model: Any, name: str, value: float) -> None:
    setattr(model, name, float(value))
    model.exploration_schedule = LinearSchedule(
        model.exploration_initial_eps, model.exploration_final_eps, model.exploration_fraction
    )


def _set_float(name: str) -> Callable[[Any, Any], None]:
    return lambda model, value: setattr(model, name, float(value))


APPLIERS: dict[str, Callable[[Any, Any], None]] = {
    "learning_rate": _set_learning_rate,
    "clip_range": lambda model, value: setattr(model, "clip_range", FloatSchedule(value)),
    "ent_coef": _set_float("ent_coef"),
    "vf_coef": _set_float("vf_coef"),
    "max_grad_norm": _set_float("max_grad_norm"),
    "tau": _set_float("tau"),
    "exploration_final_eps": lambda m, v: _set_exploration(m, "exploration_final_eps", v),
    "exploration_fraction": lambda m, v: _set_exploration(m, "exploration_fraction", v),
}


def apply_hyperparameters(model: BaseAlgorithm, config: TrainConfig) -> dict[str, Any]:
    """Set ``config``'s values of the algorithm's mutable parameters on ``model``; returns
    them (SB3 objects for schedules). The rest of ``config`` must be what ``model`` was built
    with (a member that copies another takes its networks and buffers too)."""
    kwargs = materialize(config, model.action_space)
    applied = {}
    for name in sorted(MUTABLE[config.algo]):
        if name in kwargs:
            APPLIERS[name](model, kwargs[name])
            applied[name] = kwargs[name]
    return applied


def live_hyperparameters(model: BaseAlgorithm) -> dict[str, float]:
    """The values SB3 will use at the next update, read from the model (what a test of
    "the perturbation is applied" compares)."""
    out: dict[str, float] = {}
    optimizers = _optimizers(model)
    if optimizers:
        out["learning_rate"] = float(optimizers[0].param_groups[0]["lr"])
    progress = model._current_progress_remaining
    if callable(getattr(model, "clip_range", None)):
        out["clip_range"] = float(model.clip_range(progress))
    for name in ("ent_coef", "vf_coef", "max_grad_norm", "tau"):
        if isinstance(getattr(model, name, None), int | float):
            out[name] = float(getattr(model, name))
    if hasattr(model, "exploration_schedule"):
        out["exploration_final_eps"] = float(model.exploration_schedule(0.0))
        out["exploration_rate"] = float(model.exploration_schedule(progress))
    return out


# --- checkpoints -----------------------------------------------------------------------------


def _npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _norm_arrays(norm: VecNormalize) -> dict[str, np.ndarray]:
    stats: dict[str, RunningMeanStd] = {"ret": norm.ret_rms}
    obs_rms = vars(norm).get("obs_rms")  # only when it normalises observations
    if isinstance(obs_rms, dict):
        stats |= {f"obs.{key}": rms for key, rms in obs_rms.items()}
    elif obs_rms is not None:
        stats["obs"] = obs_rms
    out = {}
    for name, rms in stats.items():
        out |= {f"{name}/mean": rms.mean, f"{name}/var": rms.var, f"{name}/count": rms.count}
    return {k: np.asarray(v) for k, v in out.items()}


def _load_norm(norm: VecNormalize, arrays: Mapping[str, np.ndarray]) -> None:
    def fill(rms: RunningMeanStd, name: str) -> None:
        rms.mean = np.array(arrays[f"{name}/mean"], dtype=np.float64)
        rms.var = np.array(arrays[f"{name}/var"], dtype=np.float64)
        rms.count = float(arrays[f"{name}/count"])

    fill(norm.ret_rms, "ret")
    obs_rms = vars(norm).get("obs_rms")
    if isinstance(obs_rms, dict):
        for key, rms in obs_rms.items():
            fill(rms, f"obs.{key}")
    elif obs_rms is not None:
        fill(obs_rms, "obs")


def _buffer_arrays(buffer: ReplayBuffer) -> dict[str, np.ndarray]:
    if not isinstance(buffer.observations, np.ndarray):
        raise ValueError("checkpoints carry array replay buffers only (not dict observations)")
    filled = buffer.buffer_size if buffer.full else buffer.pos
    out = {"pos": np.asarray(buffer.pos), "full": np.asarray(buffer.full)}
    for name in _BUFFER_FIELDS:
        values = getattr(buffer, name, None)
        if isinstance(values, np.ndarray) and values.size:
            out[name] = values[:filled]
    return out


def _load_buffer(buffer: ReplayBuffer, arrays: Mapping[str, np.ndarray]) -> None:
    filled = len(arrays["rewards"])
    if filled > buffer.buffer_size:
        raise ValueError(
            f"the checkpoint's replay buffer holds {filled} transitions, more than this "
            f"configuration's buffer_size {buffer.buffer_size}"
        )
    for name in _BUFFER_FIELDS:
        if name in arrays:
            getattr(buffer, name)[:filled] = arrays[name]
    buffer.pos = int(arrays["pos"]) % buffer.buffer_size
    buffer.full = bool(arrays["full"])


def save_checkpoint(model: BaseAlgorithm, venv: VecEnv) -> bytes:
    """The model, its normalisation statistics and (off-policy) its replay buffer, as bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
        model_bytes = io.BytesIO()
        model.save(model_bytes)
        archive.writestr("model.zip", model_bytes.getvalue())
        norm = unwrap_vec_normalize(venv)
        if norm is not None:
            archive.writestr("vecnormalize.npz", _npz(_norm_arrays(norm)))
        if isinstance(model, OffPolicyAlgorithm) and model.replay_buffer is not None:
            archive.writestr("replay.npz", _npz(_buffer_arrays(model.replay_buffer)))
        meta = {"format": CHECKPOINT_FORMAT, "num_timesteps": int(model.num_timesteps)}
        archive.writestr("meta.json", json.dumps(meta))
    return buf.getvalue()


def restore_checkpoint(
    data: bytes, config: TrainConfig, venv: VecEnv, device: str = "cpu"
) -> BaseAlgorithm:
    """A model loaded from ``save_checkpoint``'s bytes onto ``venv`` (built from ``config``),
    its statistics and replay buffer restored; hyperparameters as saved (apply new ones with
    ``apply_hyperparameters``)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        meta = json.loads(archive.read("meta.json"))
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"unknown checkpoint format {meta.get('format')!r}")
        cls = ALGORITHMS[config.algo]
        model = cls.load(io.BytesIO(archive.read("model.zip")), env=venv, device=device)
        norm = unwrap_vec_normalize(venv)
        if ("vecnormalize.npz" in names) != (norm is not None):
            raise ValueError(
                "the checkpoint's normalisation does not match the configuration's env "
                "settings (normalize_obs / normalize_reward): restore it with its own config"
            )
        if norm is not None:
            _load_norm(norm, np.load(io.BytesIO(archive.read("vecnormalize.npz"))))
        if "replay.npz" in names and isinstance(model, OffPolicyAlgorithm):
            _load_buffer(model.replay_buffer, np.load(io.BytesIO(archive.read("replay.npz"))))
    return model


# --- one segment -----------------------------------------------------------------------------


class _RunProgress(BaseCallback):
    """Makes an off-policy model's progress (schedules, DQN's exploration) that of the whole
    run: SB3 would measure it against the end of this ``learn`` call."""

    def __init__(self, total_timesteps: int) -> None:
        super().__init__(verbose=0)
        self._total = total_timesteps

    def _on_training_start(self) -> None:
        self.model._total_timesteps = self._total

    def _on_step(self) -> bool:
        return True


@dataclass(frozen=True)
class SegmentSpec:
    """Train one member from its checkpoint (or from scratch) up to ``until_step`` env steps
    of a run of ``total_timesteps``, then evaluate it on ``episodes`` episodes seeded from
    ``eval_seed``. ``seed`` seeds the segment's envs and sampling."""

    task: TaskSpec
    config: TrainConfig
    seed: int
    until_step: int
    total_timesteps: int
    episodes: int
    eval_seed: int
    device: str = "cpu"
    max_wall_s: float | None = None


@dataclass(frozen=True)
class SegmentResult:
    evaluation: Evaluation
    env_steps: int  # the member's env steps after the segment (all segments so far)
    wall_s: float
    checkpoint: bytes
    restore_ms: float
    save_ms: float
    applied: dict[str, float] = field(default_factory=dict)


def train_segment(spec: SegmentSpec, checkpoint: bytes | None) -> SegmentResult:
    """Restore (or build), apply the segment's hyperparameters, train, evaluate, checkpoint.

    Failures leave as ``TrialFailure`` (diverged, env error, timeout), as a seed run's do."""
    apply_threads()
    deadline = Deadline(spec.max_wall_s)
    set_random_seed(spec.seed, using_cuda=spec.device.startswith("cuda"))
    run = TrainSpec(spec.task, spec.config, spec.until_step, spec.seed, device=spec.device)
    venv = guarded_training_env(run, deadline)
    eval_env: EvaluationEnv | None = None
    model: BaseAlgorithm | None = None
    try:
        started = time.perf_counter()
        if checkpoint is None:
            model = build_model(spec.config, venv, seed=spec.seed, device=spec.device)
        else:
            model = restore_checkpoint(checkpoint, spec.config, venv, spec.device)
            model.set_random_seed(spec.seed)
        restore_ms = (time.perf_counter() - started) * 1000
        applied = apply_hyperparameters(model, spec.config)
        remaining = spec.until_step - model.num_timesteps
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                reset_num_timesteps=False,
                callback=_RunProgress(spec.total_timesteps),
            )
        check_parameters(model)
        eval_env = EvaluationEnv(spec.task, spec.config.env, venv, deadline)
        returns = eval_env.run(model, spec.episodes, spec.eval_seed)
        started = time.perf_counter()
        data = save_checkpoint(model, venv)
        save_ms = (time.perf_counter() - started) * 1000
    except Exception as exc:
        reraise_classified(exc, model, run)
    finally:
        for env in (eval_env, venv):
            if env is not None:
                env.close()
    return SegmentResult(
        evaluation=summarize(int(model.num_timesteps), returns),
        env_steps=int(model.num_timesteps),
        wall_s=deadline.elapsed(),
        checkpoint=data,
        restore_ms=restore_ms,
        save_ms=save_ms,
        applied={k: v if isinstance(v, float) else float("nan") for k, v in applied.items()},
    )


# --- a schedule replayed from scratch ---------------------------------------------------------


class ScheduleCallback(BaseCallback):
    """Applies ``configs[i]`` once training passes ``starts[i]`` env steps (a replayed PBT
    schedule); ``configs[0]`` is the one the model was built with."""

    def __init__(self, starts: Sequence[int], configs: Sequence[TrainConfig]) -> None:
        super().__init__(verbose=0)
        self._pending = list(zip(starts[1:], configs[1:], strict=True))
        self.applied_at: list[int] = []

    def _on_step(self) -> bool:
        while self._pending and self.num_timesteps >= self._pending[0][0]:
            _, config = self._pending.pop(0)
            apply_hyperparameters(self.model, config)
            self.applied_at.append(int(self.num_timesteps))
        return True


def train_schedule(
    task: TaskSpec,
    starts: Sequence[int],
    configs: Sequence[TrainConfig],
    timesteps: int,
    seed: int,
    device: str = "cpu",
) -> tuple[BaseAlgorithm, VecEnv]:
    """Train one model from scratch, switching hyperparameters at ``starts`` (the caller
    saves the model and closes the env)."""
    if not configs or len(starts) != len(configs) or starts[0] != 0:
        raise ValueError("a schedule is one configuration per start step, the first at 0")
    spec = TrainSpec(task, configs[0], timesteps, seed, device=device)
    return train_model(spec, ScheduleCallback(starts, configs))


def evaluate_checkpoint(
    data: bytes, task: TaskSpec, config: TrainConfig, episodes: int, seed: int, device: str = "cpu"
) -> Evaluation:
    """A checkpoint's policy on ``episodes`` episodes seeded from ``seed`` (deterministic)."""
    apply_threads()
    venv = make_vec_env(task, config.env, seed=0, gamma=float(config.sb3_kwargs.get("gamma", 0.99)))
    env: EvaluationEnv | None = None
    try:
        model = restore_checkpoint(data, config, venv, device)
        env = EvaluationEnv(task, config.env, venv)
        return summarize(int(model.num_timesteps), env.run(model, episodes, seed))
    finally:
        if env is not None:
            env.close()
        venv.close()
