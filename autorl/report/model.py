"""What the report shows, read once from a study into plain data (no HTML, no figures)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from autorl.report.curves import SeedCurve, last_reported, seed_curves
from autorl.study import attrs
from autorl.study.accounting import (
    counts_against_budget,
    failure_counts,
    failure_reason,
    finished_count,
    is_selectable,
    published_trial,
    running_count,
    total_compute,
)
from autorl.study.config import StudyConfig
from autorl.study.objectives import pareto_front
from autorl.study.record import State, StudyRecord
from autorl.study.record import read as read_record

log = logging.getLogger(__name__)

# How each trial is drawn: one of these per trial.
COMPLETE = "complete"
PRUNED = "pruned"
FAILED = "failed"
RUNNING = "running"
WAITING = "waiting"


@dataclass(frozen=True)
class TrialView:
    """One trial as the report shows it."""

    number: int
    outcome: str  # COMPLETE | PRUNED | FAILED | RUNNING | WAITING
    reason: str | None  # accounting.failure_reason(): pruned, diverged, killed ...
    counts: bool  # counts against the budget
    value: float | None  # the tuning score: the study's aggregate of its seeds (completed)
    last_reported: float | None  # the latest intermediate value (pruned: where it stopped)
    score_std: float | None
    wall_s: float | None
    env_steps: int
    params: dict[str, Any]
    message: str
    source: str | None
    curves: tuple[SeedCurve, ...]
    seed_runs: int  # entries of the ``seeds`` attr (taken-over ones included)
    taken_over: int  # of those, runs of a killed trial this one took over (not trained)
    selectable: bool  # accounting.is_selectable(): it may be the study's best
    race: str | None  # why it ran no more seeds (racing studies)
    policy_params: int | None = None  # acting parameters (studies with a cost objective)
    latency_us: float | None = None  # µs per action, batch 1

    @property
    def trained_runs(self) -> int:
        """Seed runs this trial trained itself."""
        return self.seed_runs - self.taken_over


@dataclass(frozen=True)
class ReportData:
    """Everything the page needs, taken from the study's storage."""

    name: str
    config: StudyConfig | None
    config_problem: str | None  # why ``config`` is None
    budget: int | None
    state: State  # open, running, done, paused or cancelled
    finished: int
    running: int
    trials: tuple[TrialView, ...]
    best: TrialView | None
    best_config: dict[str, Any] | None  # the best trial's ``config`` attr (TrainConfig)
    best_repairs: tuple[str, ...]
    best_seeds: tuple[dict[str, Any], ...]  # the best trial's ``seeds`` attr
    validation: dict[str, Any] | None
    final: dict[str, Any] | None  # the final choice among the top trials (final_choice)
    failures: dict[str, int]
    env_steps: int
    wall_s: float
    started: datetime | None
    ended: datetime | None
    study: optuna.Study = field(repr=False, compare=False)
    front: tuple[int, ...] = ()  # trials on the front, cheapest first (a cost objective)

    @property
    def seed_runs(self) -> int:
        """Seed runs the study trained (recorded ones; taken-over runs counted once)."""
        return sum(t.trained_runs for t in self.trials)

    @property
    def aggregate(self) -> str:
        """How a trial's seed scores become its score (``mean`` when the settings are unknown)."""
        return self.config.aggregate if self.config else "mean"


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _outcome(trial: FrozenTrial) -> str:
    return {
        TrialState.COMPLETE: COMPLETE,
        TrialState.PRUNED: PRUNED,
        TrialState.FAIL: FAILED,
        TrialState.RUNNING: RUNNING,
    }.get(trial.state, WAITING)


def _wall_s(trial: FrozenTrial) -> float | None:
    """The ``wall_s`` attr, else the trial's start-to-end time as Optuna recorded it."""
    if attrs.WALL_S in trial.user_attrs:
        return _float(trial.user_attrs[attrs.WALL_S])
    if trial.datetime_start and trial.datetime_complete:
        return (trial.datetime_complete - trial.datetime_start).total_seconds()
    return None


def trial_view(trial: FrozenTrial, timesteps: int | None) -> TrialView:
    user = trial.user_attrs
    value = _float(trial.value) if trial.state == TrialState.COMPLETE else None
    entries = [s for s in (user.get(attrs.SEEDS) or []) if isinstance(s, dict)]
    race = user.get(attrs.RACE)
    return TrialView(
        number=trial.number,
        outcome=_outcome(trial),
        reason=failure_reason(trial),
        counts=counts_against_budget(trial),
        value=value,
        last_reported=last_reported(trial),
        score_std=_float(user.get(attrs.SCORE_STD)),
        wall_s=_wall_s(trial),
        env_steps=int(user.get(attrs.ENV_STEPS, 0) or 0),
        params=dict(trial.params),
        message=str(user.get(attrs.FAILURE_MESSAGE, "") or ""),
        source=user.get(attrs.SOURCE),
        curves=tuple(seed_curves(trial, timesteps)),
        seed_runs=len(entries),
        taken_over=sum(1 for s in entries if s.get("from_trial") is not None),
        selectable=is_selectable(trial),
        race=str(race) if race else None,
        policy_params=user.get(attrs.POLICY_PARAMS),
        latency_us=_float(user.get(attrs.LATENCY_US)),
    )


def _study_config(study: optuna.Study) -> tuple[StudyConfig | None, str | None]:
    raw = study.user_attrs.get(attrs.STUDY_CONFIG)
    if raw is None:
        return None, f"the study has no {attrs.STUDY_CONFIG!r} attribute (not created by autorl?)"
    try:
        return StudyConfig.from_dict(raw), None
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("study %s: unreadable %s: %s", study.study_name, attrs.STUDY_CONFIG, exc)
        return None, f"its {attrs.STUDY_CONFIG!r} attribute is unreadable ({exc})"


def _record(study: optuna.Study) -> StudyRecord:
    """The study's record; a damaged one reads as an empty record (the report still opens)."""
    try:
        return read_record(study)
    except (TypeError, ValueError):
        return StudyRecord()


def read_study(study: optuna.Study) -> ReportData:
    """Read the study's trials and attributes once."""
    frozen = study.get_trials(deepcopy=False)
    config, problem = _study_config(study)
    timesteps = config.timesteps if config else None
    views = tuple(trial_view(t, timesteps) for t in frozen)
    record = _record(study)
    final = record.final if isinstance(record.final, dict) else None
    best = published_trial(frozen, final)
    best_view = next((v for v in views if best is not None and v.number == best.number), None)
    finished, running, budget = finished_count(frozen), running_count(frozen), record.budget or None
    state = record.state(finished, running)
    compute = total_compute(frozen)
    if final:  # the final choice's runs are the study's compute too
        compute["env_steps"] += int(final.get("env_steps", 0))
    starts = [t.datetime_start for t in frozen if t.datetime_start]
    ends = [t.datetime_complete for t in frozen if t.datetime_complete]
    validation = record.validation
    objective = config.cost_objective if config else None
    return ReportData(
        name=study.study_name,
        config=config,
        config_problem=problem,
        budget=budget,
        state=state,
        finished=finished,
        running=running,
        trials=views,
        best=best_view,
        best_config=best.user_attrs.get(attrs.CONFIG) if best else None,
        best_repairs=tuple(str(r) for r in (best.user_attrs.get(attrs.REPAIRS) or []))
        if best
        else (),
        best_seeds=tuple(s for s in (best.user_attrs.get(attrs.SEEDS) or []) if isinstance(s, dict))
        if best
        else (),
        validation=validation if isinstance(validation, dict) else None,
        final=final,
        failures=failure_counts(frozen),
        env_steps=int(compute["env_steps"]),
        wall_s=float(compute["wall_s"]),
        started=min(starts) if starts else None,
        ended=max(ends) if ends else None,
        study=study,
        front=tuple(t.number for t in pareto_front(frozen, objective)) if objective else (),
    )
