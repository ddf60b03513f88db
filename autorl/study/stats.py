"""Study statistics read with a few SQL queries from Optuna's own tables, without Optuna.

``study.get_trials()`` loads every trial with all its parameters and attributes: 2.6 s for a
2,000-trial study on PostgreSQL, which no API request and no worker's scheduling decision can
afford. The counts, failure reasons and best values a service needs are aggregates. This
module asks the database for exactly those, over the tables of Optuna's RDB schema
(``studies``, ``trials``, ``trial_values``, ``trial_user_attributes``...: stable since Optuna
3; ``tests/integration/test_trial_stats.py`` checks every figure here against Optuna's own
view on SQLite and PostgreSQL). It imports no Optuna (0.3 s, and 0.3 s more for Alembic when
an ``RDBStorage`` opens), so ``autorl studies`` reads a storage from a bare SQLAlchemy engine;
``autorl.study.trial_rows`` reads trials themselves.

The budget rules are those of ``autorl.study.accounting`` (one source of truth for what a
reason means); here they are applied to grouped rows instead of trials.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from autorl.study import attrs
from autorl.types import NOT_COUNTED, FailureReason


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns))


# The tables of Optuna's RDB schema this module and ``trial_rows`` read (columns used only).
STUDIES = _table("studies", "study_id", "study_name")
STUDY_ATTRS = _table("study_user_attributes", "study_id", "key", "value_json")
TRIALS = _table("trials", "trial_id", "number", "study_id", "state")
VALUES = _table("trial_values", "trial_id", "objective", "value", "value_type")
USER_ATTRS = _table("trial_user_attributes", "trial_id", "key", "value_json")
PARAMS = _table("trial_params", "trial_id", "param_name", "param_value", "distribution_json")
SYSTEM_ATTRS = _table("trial_system_attributes", "trial_id", "key", "value_json")
STEPS = _table(
    "trial_intermediate_values", "trial_id", "step", "intermediate_value", "intermediate_value_type"
)

# Optuna's trial states as stored (``TrialState.name``).
COMPLETE, RUNNING, WAITING, PRUNED, FAIL = "COMPLETE", "RUNNING", "WAITING", "PRUNED", "FAIL"
# What a pruned or failed trial without a stored reason means (see accounting.failure_reason).
DEFAULT_REASON = {PRUNED: FailureReason.PRUNED.value, FAIL: FailureReason.KILLED.value}


@dataclass(frozen=True)
class TrialCounts:
    """One study's trials in aggregate."""

    by_state: dict[str, int] = field(default_factory=dict)  # "COMPLETE" -> n, ...
    failures: dict[str, int] = field(default_factory=dict)  # reason -> n (pruned included)
    finished: int = 0  # counted against the budget
    best: float | None = None  # highest value of a selectable trial (accounting.best_trial)

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def running(self) -> int:
        return self.by_state.get(RUNNING, 0)

    @property
    def waiting(self) -> int:
        return self.by_state.get(WAITING, 0)


def engine_of(source: Any) -> sa.Engine:
    """The engine of an Optuna ``RDBStorage``, or ``source`` itself when it is an engine."""
    if isinstance(source, sa.Engine):
        return source
    engine = getattr(source, "engine", None)
    if engine is None:
        raise TypeError(f"{type(source).__name__} is not an RDB storage; SQL reads need one")
    return engine


def stored_value(value: float | None, value_type: Any) -> float | None:
    """A trial value as Optuna stores it: infinities are a type, not a number."""
    kind = str(getattr(value_type, "name", value_type))
    if kind == "INF_POS":
        return math.inf
    if kind == "INF_NEG":
        return -math.inf
    return value


def selectable_join() -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """Trials joined to their values and ``selectable`` mark, and the condition that keeps
    those that may be a study's best (``accounting.is_selectable``: no mark means a trial
    stored before racing, which is selectable)."""
    mark = USER_ATTRS.alias("selectable_mark")
    joined = TRIALS.join(VALUES, VALUES.c.trial_id == TRIALS.c.trial_id).outerjoin(
        mark, sa.and_(mark.c.trial_id == TRIALS.c.trial_id, mark.c.key == attrs.SELECTABLE)
    )
    condition = sa.and_(
        sa.cast(TRIALS.c.state, sa.String) == COMPLETE,  # a PG enum
        VALUES.c.objective == 0,
        sa.or_(mark.c.value_json.is_(None), mark.c.value_json == json.dumps(True)),
    )
    return joined, condition


def has_studies_table(source: Any) -> bool:
    """Whether Optuna's schema exists in the database (a fresh file has none yet)."""
    with engine_of(source).connect() as conn:
        return sa.inspect(conn).has_table("studies")


def study_ids(source: Any) -> dict[str, int]:
    """Every study's id by name (one query)."""
    with engine_of(source).connect() as conn:
        return dict(conn.execute(sa.select(STUDIES.c.study_name, STUDIES.c.study_id)).all())


def study_attr_texts(source: Any, study_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Each study's user attributes as stored (JSON text, unparsed), in one query."""
    out: dict[int, dict[str, str]] = {i: {} for i in study_ids}
    if not study_ids:
        return out
    query = sa.select(STUDY_ATTRS.c.study_id, STUDY_ATTRS.c.key, STUDY_ATTRS.c.value_json)
    with engine_of(source).connect() as conn:
        for study_id, key, value in conn.execute(
            query.where(STUDY_ATTRS.c.study_id.in_(study_ids))
        ):
            out[study_id][key] = value
    return out


def autorl_study_attrs(source: Any) -> list[tuple[str, int, dict[str, Any]]]:
    """``(name, id, user attributes)`` of every study autorl created (those with a study
    config), oldest first, in two queries."""
    with engine_of(source).connect() as conn:
        rows = conn.execute(
            sa.select(STUDIES.c.study_name, STUDIES.c.study_id).order_by(STUDIES.c.study_id)
        ).all()
        ours = sa.select(STUDY_ATTRS.c.study_id).where(STUDY_ATTRS.c.key == attrs.STUDY_CONFIG)
        query = sa.select(STUDY_ATTRS.c.study_id, STUDY_ATTRS.c.key, STUDY_ATTRS.c.value_json)
        found: dict[int, dict[str, Any]] = {}
        for study_id, key, value in conn.execute(query.where(STUDY_ATTRS.c.study_id.in_(ours))):
            found.setdefault(study_id, {})[key] = json.loads(value)
    return [(name, i, found[i]) for name, i in rows if i in found]


def study_counts(source: Any, study_ids: Sequence[int]) -> dict[int, TrialCounts]:
    """Counts by state and failure reason, budget-counted trials and best value, per study
    (two queries whatever the number of studies and trials)."""
    if not study_ids:
        return {}
    reason = sa.and_(
        USER_ATTRS.c.trial_id == TRIALS.c.trial_id, USER_ATTRS.c.key == attrs.FAILURE_REASON
    )
    grouped = (
        sa.select(TRIALS.c.study_id, TRIALS.c.state, USER_ATTRS.c.value_json, sa.func.count())
        .select_from(TRIALS.outerjoin(USER_ATTRS, reason))
        .where(TRIALS.c.study_id.in_(study_ids))
        .group_by(TRIALS.c.study_id, TRIALS.c.state, USER_ATTRS.c.value_json)
    )
    joined, selectable = selectable_join()
    best = (
        sa.select(TRIALS.c.study_id, VALUES.c.value_type, sa.func.max(VALUES.c.value))
        .select_from(joined)
        .where(TRIALS.c.study_id.in_(study_ids), selectable)
        .group_by(TRIALS.c.study_id, VALUES.c.value_type)
    )
    states: dict[int, Counter[str]] = {i: Counter() for i in study_ids}
    failures: dict[int, Counter[str]] = {i: Counter() for i in study_ids}
    finished: Counter[int] = Counter()
    bests: dict[int, float] = {}
    with engine_of(source).connect() as conn:
        for study_id, state, reason_json, count in conn.execute(grouped):
            state = str(getattr(state, "name", state))  # PostgreSQL returns its enum
            states[study_id][state] += count
            why = json.loads(reason_json) if reason_json is not None else None
            if state in DEFAULT_REASON:
                why = why or DEFAULT_REASON[state]
                failures[study_id][why] += count
            if state == COMPLETE or (state in DEFAULT_REASON and why not in NOT_COUNTED):
                finished[study_id] += count
        for study_id, value_type, value in conn.execute(best):
            value = stored_value(value, value_type)
            if value is not None and (study_id not in bests or value > bests[study_id]):
                bests[study_id] = value
    return {
        i: TrialCounts(dict(states[i]), dict(failures[i]), finished[i], bests.get(i))
        for i in study_ids
    }
