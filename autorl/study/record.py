"""The study record: what autorl keeps on an Optuna study besides its trials, parsed in one
place (``StudyRecord.of``) and written through typed functions. The state of a study is one
answer everywhere (``autorl studies``, the report, the API, the worker's scheduler)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from autorl.study import attrs

if TYPE_CHECKING:  # the record is read without Optuna where a listing needs no more
    import optuna


class State(str, Enum):
    OPEN = "open"  # budget left, nothing running
    RUNNING = "running"
    DONE = "done"  # the budget is reached
    PAUSED = "paused"  # by an operator: workers skip it
    CANCELLED = "cancelled"  # by an operator: for good

    def __str__(self) -> str:
        return self.value


OPERATOR_STATES = (State.PAUSED, State.CANCELLED)


@dataclass(frozen=True)
class StudyRecord:
    budget: int = 0  # finished trials the study should reach
    priority: int = 0
    operator: State | None = None  # PAUSED or CANCELLED, set by an operator
    operator_reason: str | None = None  # why, when autorl set it (trials that keep crashing)
    validation: dict[str, Any] | None = None  # the test of the chosen configuration
    final: dict[str, Any] | None = None  # the final choice among the top configurations
    warm_start: dict[str, Any] | None = None
    config: dict[str, Any] | None = None  # StudyConfig.to_dict() (``factory.stored_config``)

    @classmethod
    def of(cls, user_attrs: Mapping[str, Any]) -> StudyRecord:
        operator = user_attrs.get(attrs.STUDY_STATE)
        return cls(
            budget=int(user_attrs.get(attrs.STUDY_BUDGET) or 0),
            priority=int(user_attrs.get(attrs.STUDY_PRIORITY) or 0),
            operator=State(operator) if operator in {s.value for s in OPERATOR_STATES} else None,
            operator_reason=user_attrs.get(attrs.STUDY_STATE_REASON),
            validation=user_attrs.get(attrs.STUDY_VALIDATION),
            final=user_attrs.get(attrs.STUDY_FINAL),
            warm_start=user_attrs.get(attrs.STUDY_WARM_START),
            config=user_attrs.get(attrs.STUDY_CONFIG),
        )

    def state(self, finished: int, running: int) -> State:
        """``cancelled`` whatever the counts; else ``done`` once the budget is reached; else
        ``paused``; else ``running`` or ``open``."""
        return study_state(finished, running, self.budget or None, self.operator)

    @property
    def active(self) -> bool:
        """Whether workers may claim its trials (not paused or cancelled)."""
        return self.operator is None


def study_state(
    finished: int, running: int, budget: int | None, operator: State | str | None = None
) -> State:
    """The one answer to "what state is this study in" (see ``StudyRecord.state``)."""
    if operator == State.CANCELLED:
        return State.CANCELLED
    if budget is not None and finished >= budget:
        return State.DONE
    if operator == State.PAUSED:
        return State.PAUSED
    return State.RUNNING if running else State.OPEN


def read(study: optuna.Study) -> StudyRecord:
    return StudyRecord.of(study.user_attrs)


def write_budget(study: optuna.Study, budget: int) -> None:
    study.set_user_attr(attrs.STUDY_BUDGET, int(budget))


def write_priority(study: optuna.Study, priority: int) -> None:
    study.set_user_attr(attrs.STUDY_PRIORITY, int(priority))


def write_operator_state(
    study: optuna.Study, state: State | str, reason: str | None = None
) -> None:
    """Pause or cancel the study; ``reason``: why, when autorl does it (None: by hand)."""
    state = State(state)
    if state not in OPERATOR_STATES:
        raise ValueError(f"an operator sets {' or '.join(map(str, OPERATOR_STATES))}, not {state}")
    study.set_user_attr(attrs.STUDY_STATE, state.value)
    if reason is not None or attrs.STUDY_STATE_REASON in study.user_attrs:
        study.set_user_attr(attrs.STUDY_STATE_REASON, reason)


def clear_operator_state(study: optuna.Study) -> None:
    """Active again (Optuna cannot delete an attribute: it is set to null)."""
    study.set_user_attr(attrs.STUDY_STATE, None)
    if attrs.STUDY_STATE_REASON in study.user_attrs:
        study.set_user_attr(attrs.STUDY_STATE_REASON, None)


def write_validation(study: optuna.Study, validation: dict[str, Any]) -> None:
    study.set_user_attr(attrs.STUDY_VALIDATION, validation)


def write_final(study: optuna.Study, final: dict[str, Any]) -> None:
    study.set_user_attr(attrs.STUDY_FINAL, final)


def write_warm_start(study: optuna.Study, info: dict[str, Any]) -> None:
    study.set_user_attr(attrs.STUDY_WARM_START, info)


def write_config(study: optuna.Study, config: dict[str, Any]) -> None:
    study.set_user_attr(attrs.STUDY_CONFIG, config)
