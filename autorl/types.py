"""Frozen, JSON-friendly dataclasses that cross every boundary of autorl.

Nothing here imports torch, SB3, Optuna or the database layer: these are plain data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class FailureReason(str, Enum):
    """Why a trial ended without a score. Stored as the trial's ``failure_reason`` attribute."""

    DIVERGED = "diverged"  # NaN/inf in losses, parameters or actions
    ENV_ERROR = "env_error"  # the environment raised, or returned NaN/inf observations/rewards
    TIMEOUT = "timeout"  # the trial ran past its wall-clock limit
    PRUNED = "pruned"  # stopped early by the pruner (not a failure of the configuration)
    OOM = "oom"  # out of memory (host or device)
    INFEASIBLE = "infeasible"  # the sampled configuration violates a constraint; never trained
    KILLED = "killed"  # the worker died mid-trial; the configuration was re-queued
    CRASHED = "crashed"  # the trial's process died (signal, exit status), its retries spent
    REQUEUED = "requeued"  # the trial's process died; the configuration was queued again
    ERROR = "error"  # anything else (a bug): the message says what happened


# Failures that do not count against a study's budget: the configuration was never trained
# (infeasible), or its worker or its trial's process died and it was re-queued.
NOT_COUNTED = frozenset(
    {FailureReason.INFEASIBLE.value, FailureReason.KILLED.value, FailureReason.REQUEUED.value}
)


@dataclass(frozen=True)
class TaskSpec:
    """An environment to tune on.

    ``env_id`` is a Gymnasium id. With ``entry_point`` ("package.module:Class") the id is
    registered for the run. ``env_kwargs`` go to the constructor; ``env_attrs`` are set on the
    unwrapped env after construction (the attribute must already exist).
    """

    env_id: str
    entry_point: str | None = None
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    env_attrs: Mapping[str, Any] = field(default_factory=dict)
    family: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "entry_point": self.entry_point,
            "env_kwargs": dict(self.env_kwargs),
            "env_attrs": dict(self.env_attrs),
            "family": self.family,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskSpec:
        return cls(
            env_id=data["env_id"],
            entry_point=data.get("entry_point"),
            env_kwargs=dict(data.get("env_kwargs") or {}),
            env_attrs=dict(data.get("env_attrs") or {}),
            family=data.get("family"),
        )

    def imports(self) -> list[str]:
        """The ``module:Name`` targets building this env imports: its entry point, and an env
        id of the ``module:Env-v0`` form (Gymnasium imports the module to find the id)."""
        return [t for t in (self.entry_point, self.env_id) if t and ":" in t]

    def key(self) -> str:
        """A short stable hash of what makes the environment (not the family label)."""
        payload = json.dumps(
            [self.env_id, self.entry_point, dict(self.env_kwargs), dict(self.env_attrs)],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha1(payload.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class EnvSettings:
    """Env-level settings that are part of a configuration (as much as any searched parameter)."""

    n_envs: int = 1
    normalize_obs: bool = False
    normalize_reward: bool = False
    frame_stack: int = 1  # the policy sees the last k observations (autorl.envs.images)

    def to_dict(self) -> dict[str, Any]:
        """The settings as data; ``frame_stack`` only when it stacks (so that configurations
        stored before it existed keep their identity)."""
        data = dataclasses.asdict(self)
        if self.frame_stack == 1:
            del data["frame_stack"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnvSettings:
        return cls(
            n_envs=int(data.get("n_envs", 1)),
            normalize_obs=bool(data.get("normalize_obs", False)),
            normalize_reward=bool(data.get("normalize_reward", False)),
            frame_stack=int(data.get("frame_stack", 1)),
        )


@dataclass(frozen=True)
class TrainConfig:
    """A fully resolved configuration: what to train, as JSON-able data.

    ``sb3_kwargs`` follow the conventions in ``docs/configurations.md`` (schedules, activation
    names and action noise are plain data); ``autorl.training`` turns them into SB3 objects.
    """

    algo: str
    policy: str
    sb3_kwargs: Mapping[str, Any]
    env: EnvSettings = field(default_factory=EnvSettings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "algo": self.algo,
            "policy": self.policy,
            "sb3_kwargs": json.loads(json.dumps(dict(self.sb3_kwargs))),
            "env": self.env.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        return cls(
            algo=data["algo"],
            policy=data["policy"],
            sb3_kwargs=dict(data["sb3_kwargs"]),
            env=EnvSettings.from_dict(data.get("env") or {}),
        )


@dataclass(frozen=True)
class EvalSettings:
    """How a trial is scored: periodic evaluations on a separate env with fixed seeds.

    ``per_run_episodes``: the k-th seed run of a configuration is evaluated on its own
    episodes (seed + k * episodes ...), the same for every configuration, so averaging over
    seeds also averages over episodes; off, every seed run replays the same episodes (how
    studies made before it read).
    """

    n_evaluations: int = 10  # evaluations per training run (the last one, at the end, scores it)
    episodes: int = 5  # episodes per evaluation
    seed: int = 10_000  # episode i of every evaluation is reset with seed + i
    deterministic: bool = True
    per_run_episodes: bool = False

    @property
    def run_seed_step(self) -> int:
        """How far the episode seeds shift from one seed run to the next (0: not at all)."""
        return self.episodes if self.per_run_episodes else 0

    def steps_before_end(self, timesteps: int) -> list[int]:
        """Evenly spaced steps of the evaluations before the end of a ``timesteps`` run (the
        last one runs after training)."""
        if self.n_evaluations < 1:
            from autorl.errors import UsageError  # autorl.errors imports this module

            raise UsageError(f"n_evaluations must be at least 1, got {self.n_evaluations}")
        return [round(k * timesteps / self.n_evaluations) for k in range(1, self.n_evaluations)]

    def for_run(self, index: int) -> EvalSettings:
        """The settings of a configuration's ``index``-th seed run (0-based)."""
        if not self.run_seed_step or index == 0:
            return self
        return replace(self, seed=self.seed + index * self.run_seed_step)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrainSpec:
    """One training run: a configuration, a task, a budget and a seed."""

    task: TaskSpec
    config: TrainConfig
    timesteps: int
    seed: int
    evaluation: EvalSettings = field(default_factory=EvalSettings)
    device: str = "cpu"
    max_wall_s: float | None = None  # None: no limit


@dataclass(frozen=True)
class Evaluation:
    """The returns of one evaluation after ``step`` environment steps."""

    step: int
    mean: float
    std: float
    returns: tuple[float, ...]


@dataclass(frozen=True)
class SeedResult:
    """The outcome of one training run (one seed of one configuration)."""

    seed: int
    score: float  # mean return of the last evaluation
    curve: tuple[Evaluation, ...]
    env_steps: int
    wall_s: float
    pruned: bool = False  # the report callback asked to stop; score is the last evaluation

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "score": self.score,
            "curve": [[e.step, e.mean, e.std] for e in self.curve],
            "env_steps": self.env_steps,
            "wall_s": round(self.wall_s, 3),
            "pruned": self.pruned,
        }


@dataclass(frozen=True)
class SpaceSummary:
    """An observation or action space reduced to what a meta-learner can compare."""

    kind: str  # "discrete" | "box" | "multi_discrete" | "multi_binary" | other class name
    shape: tuple[int, ...]
    n: int | None = None  # number of discrete actions/values
    low: float | None = None  # smallest finite bound over all dimensions (Box)
    high: float | None = None  # largest finite bound over all dimensions (Box)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": list(self.shape),
            "n": self.n,
            "low": self.low,
            "high": self.high,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceSummary:
        return cls(
            kind=str(data["kind"]),
            shape=tuple(int(s) for s in data.get("shape") or ()),
            n=None if data.get("n") is None else int(data["n"]),
            low=None if data.get("low") is None else float(data["low"]),
            high=None if data.get("high") is None else float(data["high"]),
        )


FEATURES_VERSION = 1


@dataclass(frozen=True)
class TaskFeatures:
    """What probing a task with a uniformly random policy tells about it (computed once)."""

    observation: SpaceSummary
    action: SpaceSummary
    max_episode_steps: int | None
    reward_threshold: float | None  # the env's registered "solved" return, if any
    random_return_mean: float  # return of a uniformly random policy, over ``episodes``
    random_return_std: float
    random_episode_length: float  # mean episode length under the random policy
    reward_per_step_mean: float
    reward_per_step_std: float
    episodes: int  # random-policy episodes the figures above were measured on
    seed: int  # the first episode's reset seed (episode i: seed + i)
    version: int = FEATURES_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["observation"] = self.observation.to_dict()
        data["action"] = self.action.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskFeatures:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["observation"] = SpaceSummary.from_dict(data["observation"])
        values["action"] = SpaceSummary.from_dict(data["action"])
        return cls(**values)


@dataclass(frozen=True)
class TaskRecord:
    """A stored task: its environment, the families it belongs to, its features if probed."""

    key: str  # TaskSpec.key(): what makes the environment
    spec: TaskSpec
    families: tuple[str, ...] = ()
    features: TaskFeatures | None = None


@dataclass(frozen=True)
class StudyLink:
    """Which task (and algorithm) an Optuna study tunes."""

    study_name: str
    task_key: str
    algo: str
    family: str | None = None  # the family label the study was started under


def disallowed_import(task: TaskSpec, prefixes: Sequence[str]) -> str | None:
    """The first ``module:Name`` building ``task`` imports that no prefix allows (None: it
    imports nothing, or only what ``prefixes`` allow; ``module_allowed``)."""
    return next((t for t in task.imports() if not module_allowed(t, prefixes)), None)


def module_allowed(target: str, prefixes: Sequence[str]) -> bool:
    """Whether ``module:Name`` starts with an allowed prefix, at a module boundary
    (``mypkg.envs`` allows ``mypkg.envs:X`` and ``mypkg.envs.sub:X``, not ``mypkg.envs_x:X``)."""
    for prefix in prefixes:
        if target == prefix:
            return True
        if target.startswith(prefix) and (
            prefix.endswith((".", ":")) or target[len(prefix)] in ".:"
        ):
            return True
    return False
