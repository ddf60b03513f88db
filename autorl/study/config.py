"""What a study is: everything needed to run (or resume) it, stored in the study itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from autorl.errors import StudyError
from autorl.scoring import AGGREGATES
from autorl.types import EvalSettings, TaskSpec

PRUNERS = ("median", "hyperband", "none")
DEFAULT_AGGREGATE = "mean"
DEFAULT_TEST_SEEDS = 5
DEFAULT_MAX_RETRIES = 2
MIN_MEMORY_LIMIT_MB = 512  # below this a Python process with torch cannot even start

# Seeds: tuning runs use train seeds 0..K-1 and evaluation episodes seeded from EVAL_SEED;
# validation uses seeds no tuning run has seen.
EVAL_SEED = 10_000
VALIDATION_TRAIN_SEED = 100_000
VALIDATION_EVAL_SEED = 200_000
# The final choice among the top configurations (``finalists``) trains them on seeds and
# episodes that neither tuning nor the test uses.
FINAL_TRAIN_SEED = 50_000
FINAL_EVAL_SEED = 300_000
DEFAULT_FINAL_SEEDS = 3


def tuning_evaluation(n_evaluations: int = 10, episodes: int = 5) -> EvalSettings:
    """How a new study scores its seed runs: episodes seeded from EVAL_SEED, each seed run
    of a configuration on its own episodes (see EvalSettings.per_run_episodes)."""
    return EvalSettings(
        n_evaluations=n_evaluations, episodes=episodes, seed=EVAL_SEED, per_run_episodes=True
    )


@dataclass(frozen=True)
class RaceSettings:
    """Racing over seeds: a configuration earns seeds up to ``max_seeds`` while it may beat
    the incumbent, which is the best aggregate over at least ``min_seeds`` seeds (see
    ``autorl.scoring``). ``z``: how optimistic the race is about seeds not yet run, in units
    of the study's seed-to-seed spread."""

    min_seeds: int = 3
    max_seeds: int = 3
    z: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"min_seeds": self.min_seeds, "max_seeds": self.max_seeds, "z": self.z}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RaceSettings:
        return cls(int(data["min_seeds"]), int(data["max_seeds"]), float(data.get("z", 1.0)))


@dataclass(frozen=True)
class StudyConfig:
    """The immutable definition of a study. ``budget`` (trials) may grow on resume.

    Seeds: with ``race`` set, each configuration races over seeds 0, 1, ... (see
    RaceSettings); without, every configuration trains on exactly ``seeds`` seeds (the
    non-adaptive option, and how studies made before racing read). A configuration's score
    is the ``aggregate`` of its seeds' scores. ``finalists``: when >= 2, the top configurations
    are trained on ``final_seeds`` more seeds once the budget is reached, and the best
    aggregate over all their seeds is published (``autorl.runtime.final_choice``).
    ``validation_*``: the final test of the published configuration on seeds no choice has
    seen (stored under the older name). ``objectives``: return alone, or return and a cost of
    the policy (``autorl.study.objectives``: a front of return against it).
    """

    task: TaskSpec
    algo: str
    space: Mapping[str, Any]  # SearchSpace.to_dict(): the study does not depend on the file
    timesteps: int
    seeds: int = 1
    race: RaceSettings | None = None
    aggregate: str = "mean"
    evaluation: EvalSettings = field(default_factory=lambda: tuning_evaluation())
    pruner: str = "median"
    finalists: int = 0  # 0: publish the best aggregate of the study's trials
    final_seeds: int = DEFAULT_FINAL_SEEDS
    validation_seeds: int = DEFAULT_TEST_SEEDS
    validation_episodes: int = 20
    trial_timeout_s: float | None = None  # absolute limit per trial; None: relative only
    timeout_factor: float = 5.0  # a trial may take this many times the median finished trial
    device: str = "auto"
    sampler_seed: int | None = None
    threshold: float | None = None  # the return that counts as solved (None: the env's own)
    max_retries: int = DEFAULT_MAX_RETRIES  # re-queues of a configuration whose process died
    memory_limit_mb: int | None = None  # address space of a trial's process (None: no limit)
    max_concurrent_trials: int | None = None  # trials running at once, all workers (None: any)
    objectives: tuple[str, ...] = ("return",)  # return, then a cost: params or latency

    @property
    def cost_objective(self) -> str | None:
        """The cost the front trades return against (``params``, ``latency``), or None."""
        return self.objectives[1] if len(self.objectives) > 1 else None

    @property
    def min_seeds(self) -> int:
        """Seeds a configuration needs before it may be chosen as the study's best."""
        return self.race.min_seeds if self.race else self.seeds

    @property
    def max_seeds(self) -> int:
        return self.race.max_seeds if self.race else self.seeds

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task.to_dict(),
            "algo": self.algo,
            "space": json.loads(json.dumps(dict(self.space))),
            "timesteps": self.timesteps,
            "seeds": self.seeds,
            "race": self.race.to_dict() if self.race else None,
            "aggregate": self.aggregate,
            "evaluation": self.evaluation.to_dict(),
            "pruner": self.pruner,
            "finalists": self.finalists,
            "final_seeds": self.final_seeds,
            "validation_seeds": self.validation_seeds,
            "validation_episodes": self.validation_episodes,
            "trial_timeout_s": self.trial_timeout_s,
            "timeout_factor": self.timeout_factor,
            "device": self.device,
            "sampler_seed": self.sampler_seed,
            "threshold": self.threshold,
            "max_retries": self.max_retries,
            "memory_limit_mb": self.memory_limit_mb,
            "max_concurrent_trials": self.max_concurrent_trials,
            "objectives": list(self.objectives),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyConfig:
        return cls(
            task=TaskSpec.from_dict(data["task"]),
            algo=data["algo"],
            space=data["space"],
            timesteps=int(data["timesteps"]),
            seeds=int(data.get("seeds", 1)),
            race=RaceSettings.from_dict(data["race"]) if data.get("race") else None,
            aggregate=data.get("aggregate", "mean"),
            evaluation=EvalSettings(**data.get("evaluation", {})),
            pruner=data.get("pruner", "median"),
            finalists=int(data.get("finalists", 0)),
            final_seeds=int(data.get("final_seeds", DEFAULT_FINAL_SEEDS)),
            validation_seeds=int(data.get("validation_seeds", 3)),
            validation_episodes=int(data.get("validation_episodes", 20)),
            trial_timeout_s=data.get("trial_timeout_s"),
            timeout_factor=float(data.get("timeout_factor", 5.0)),
            device=data.get("device", "auto"),
            sampler_seed=data.get("sampler_seed"),
            threshold=data.get("threshold"),
            max_retries=int(data.get("max_retries", DEFAULT_MAX_RETRIES)),
            memory_limit_mb=data.get("memory_limit_mb"),
            max_concurrent_trials=data.get("max_concurrent_trials"),
            objectives=tuple(data.get("objectives") or ("return",)),
        )

    def check(self) -> None:
        """Refuse absurd settings before anything is stored or trained."""
        problems = []
        if self.timesteps < 100:
            problems.append(f"--timesteps {self.timesteps} is too small to learn anything (>= 100)")
        if self.timesteps > 1_000_000_000:
            problems.append(f"--timesteps {self.timesteps} is absurd for one trial (<= 1e9)")
        if not 1 <= self.seeds <= 100:
            problems.append(f"--seeds {self.seeds} must be between 1 and 100")
        if self.race is not None:
            r = self.race
            if not 1 <= r.max_seeds <= 100:
                problems.append(f"--max-seeds {r.max_seeds} must be between 1 and 100")
            if not 1 <= r.min_seeds <= r.max_seeds:
                problems.append(
                    f"--min-seeds {r.min_seeds} must be between 1 and --max-seeds ({r.max_seeds})"
                )
            if not 0 <= r.z <= 10:
                problems.append(f"racing z {r.z} must be between 0 and 10")
        if self.aggregate not in AGGREGATES:
            problems.append(f"--aggregate {self.aggregate!r} is not one of {', '.join(AGGREGATES)}")
        if not 1 <= self.evaluation.n_evaluations <= 1000:
            problems.append("--evaluations must be between 1 and 1000")
        if self.evaluation.n_evaluations > self.timesteps:
            problems.append("--evaluations cannot exceed --timesteps")
        if not 1 <= self.evaluation.episodes <= 10_000:
            problems.append("--eval-episodes must be between 1 and 10000")
        if self.pruner not in PRUNERS:
            problems.append(f"--pruner {self.pruner!r} is not one of {', '.join(PRUNERS)}")
        try:
            parse_objectives(",".join(self.objectives))
        except StudyError as exc:
            problems.append(str(exc))
        if self.cost_objective and self.pruner == "hyperband":
            problems.append(
                "--pruner hyperband cannot judge trials against those no larger than them; "
                "with --objectives use --pruner median (the default) or none"
            )
        if self.finalists == 1 or not 0 <= self.finalists <= 20:
            problems.append(
                f"--finalists {self.finalists} must be 0 (off) or between 2 and 20 (one "
                "finalist is no choice)"
            )
        if not 1 <= self.final_seeds <= 100:
            problems.append(f"--final-seeds {self.final_seeds} must be between 1 and 100")
        if not 0 <= self.validation_seeds <= 100:
            problems.append("--test-seeds must be between 0 and 100")
        if self.trial_timeout_s is not None and self.trial_timeout_s <= 0:
            problems.append("--trial-timeout must be positive")
        if self.timeout_factor <= 1:
            problems.append("--timeout-factor must be > 1")
        if not 0 <= self.max_retries <= 10:
            problems.append(f"--max-retries {self.max_retries} must be between 0 and 10")
        if self.max_concurrent_trials is not None and not 1 <= self.max_concurrent_trials <= 1000:
            problems.append(
                f"--max-concurrent {self.max_concurrent_trials} must be between 1 and 1000"
            )
        if self.memory_limit_mb is not None and self.memory_limit_mb < MIN_MEMORY_LIMIT_MB:
            problems.append(
                f"--memory-limit {self.memory_limit_mb} MB is too small for a trial's process "
                f"(>= {MIN_MEMORY_LIMIT_MB})"
            )
        if problems:
            raise StudyError("; ".join(problems))

    def identity(self) -> dict[str, Any]:
        """The settings that make trials comparable; a resumed study must keep them."""
        data = self.to_dict()
        for mutable in (
            "device",
            "trial_timeout_s",
            "timeout_factor",
            "finalists",  # the final choice trains no trial: it may change on resume
            "final_seeds",
            "validation_seeds",
            "validation_episodes",
            "sampler_seed",
            "threshold",
            "max_retries",
            "memory_limit_mb",
            "max_concurrent_trials",
        ):
            data.pop(mutable)
        return data

    def with_runtime(self, **changes: Any) -> StudyConfig:
        return replace(self, **changes)


COST_OBJECTIVES = ("params", "latency")  # what ``autorl.study.objectives`` trades return for


def parse_objectives(text: str) -> tuple[str, ...]:
    """``"return"``, ``"return,params"`` or ``"return,latency"`` as a tuple; StudyError
    otherwise, saying what is accepted."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    accepted = "return, return,params or return,latency"
    if not names or names[0] != "return":
        raise StudyError(f"--objectives {text!r}: the first objective is return (use {accepted})")
    if len(names) > 2 or any(n not in COST_OBJECTIVES for n in names[1:]):
        raise StudyError(f"--objectives {text!r} is not one of {accepted}")
    return names


def seed_fields(
    seeds: int | None = None,
    max_seeds: int | None = None,
    min_seeds: int | None = None,
    race_z: float | None = None,
    aggregate: str | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """StudyConfig fields for the seeds from a user's options (None: not given): racing by
    default, exactly ``seeds`` seeds per configuration with ``seeds``. Also returns the fields
    a continued study keeps from storage, because none of their options was given."""
    given = [v for v in (seeds, max_seeds, min_seeds, race_z, aggregate) if v is not None]
    racing = [
        name
        for name, value in (
            ("--max-seeds", max_seeds),
            ("--min-seeds", min_seeds),
            ("--race-z", race_z),
        )
        if value is not None
    ]
    if seeds is not None and racing:
        raise StudyError(
            f"--seeds K trains every configuration on K seeds; {', '.join(racing)} race "
            "them: give one or the other"
        )
    fields: dict[str, Any] = {"aggregate": aggregate or DEFAULT_AGGREGATE}
    if seeds is not None:
        fields.update(seeds=seeds, race=None)
    else:
        default = RaceSettings()
        top = max_seeds if max_seeds is not None else default.max_seeds
        fields.update(
            seeds=1,
            race=RaceSettings(
                min_seeds if min_seeds is not None else min(default.min_seeds, top),
                top,
                race_z if race_z is not None else default.z,
            ),
        )
    return fields, () if given else ("seeds", "race", "aggregate")


MAX_STUDY_NAME = 200


def check_study_name(name: str) -> None:
    """A study's name is shown in listings, reports and URLs: no path separators, no control
    characters, no surrounding spaces, at most MAX_STUDY_NAME characters."""
    problem = None
    if not name or name != name.strip():
        problem = "must not be empty or start or end with a space"
    elif len(name) > MAX_STUDY_NAME:
        problem = f"is {len(name)} characters long (at most {MAX_STUDY_NAME})"
    elif any(c in name for c in "/\\"):
        problem = "must not contain a path separator ('/' or '\\')"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "must not contain control characters (a newline, a tab, NUL ...)"
    if problem is not None:
        raise StudyError(f"study name {name!r} {problem}; choose another with --study NAME")


def check_budget(trials: int) -> None:
    """A budget is a count of finished trials: positive and not absurd."""
    if not 1 <= trials <= 100_000:
        raise StudyError(f"--trials {trials} must be between 1 and 100000")


def mismatches(stored: StudyConfig, asked: StudyConfig) -> list[str]:
    """Human-readable differences between a stored study and what the user asked for."""
    a, b = stored.identity(), asked.identity()
    out = []
    for key in a:
        if a[key] != b.get(key):
            shown_a = "(the stored space)" if key == "space" else a[key]
            shown_b = "(a different space)" if key == "space" else b.get(key)
            out.append(f"{key}: stored {shown_a}, asked {shown_b}")
    return out
