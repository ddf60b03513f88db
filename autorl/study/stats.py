"""Study statistics and trial pages read with a few SQL queries from Optuna's own tables.

``study.get_trials()`` loads every trial with all its parameters and attributes: 2.6 s for a
2,000-trial study on PostgreSQL, which no API request and no worker's scheduling decision can
afford. The counts, failure reasons and best values a service needs are aggregates; a page of
trials needs only that page. This module asks the database for exactly those, over the tables
of Optuna's RDB schema (``trials``, ``trial_values``, ``trial_params``, ``trial_user_attributes``,
``trial_system_attributes``: stable since Optuna 3; ``tests/integration/test_trial_stats.py``
checks every figure here against Optuna's own view on SQLite and PostgreSQL).

The budget rules are those of ``autorl.study.accounting`` (one source of truth for what a
reason means); here they are applied to grouped rows instead of trials.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
import sqlalchemy as sa
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import TrialState

from autorl.study import attrs
from autorl.study.accounting import NOT_COUNTED, best_trial
from autorl.types import FailureReason

_studies = sa.table("studies", sa.column("study_id"), sa.column("study_name"))
_study_attrs = sa.table(
    "study_user_attributes", sa.column("study_id"), sa.column("key"), sa.column("value_json")
)
_trials = sa.table(
    "trials",
    sa.column("trial_id"),
    sa.column("number"),
    sa.column("study_id"),
    sa.column("state"),
)
_values = sa.table(
    "trial_values",
    sa.column("trial_id"),
    sa.column("objective"),
    sa.column("value"),
    sa.column("value_type"),
)
_params = sa.table(
    "trial_params",
    sa.column("trial_id"),
    sa.column("param_name"),
    sa.column("param_value"),
    sa.column("distribution_json"),
)
_user_attrs = sa.table(
    "trial_user_attributes", sa.column("trial_id"), sa.column("key"), sa.column("value_json")
)
_system_attrs = sa.table(
    "trial_system_attributes", sa.column("trial_id"), sa.column("key"), sa.column("value_json")
)

# What a pruned or failed trial without a stored reason means (see accounting.failure_reason).
IN_CHUNK = 5000  # trial ids per IN (...) list: SQLite allows 32,766 bound values
TIES_READ = 20  # trials tied on the best value whose learning curves are compared, at most
_DEFAULT_REASON = {"PRUNED": FailureReason.PRUNED.value, "FAIL": FailureReason.KILLED.value}
_PAGE_ATTRS = (
    attrs.SOURCE,
    attrs.FAILURE_REASON,
    attrs.ENV_STEPS,
    attrs.WALL_S,
    attrs.SEED_SCORES,
    attrs.SELECTABLE,
)


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
        return self.by_state.get(TrialState.RUNNING.name, 0)

    @property
    def waiting(self) -> int:
        return self.by_state.get(TrialState.WAITING.name, 0)


@dataclass(frozen=True)
class StoredTrial:
    """A trial's parameters (with their distributions' JSON), value and chosen user
    attributes: what listings and tables of results are built from."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    distributions: dict[str, str]  # name -> Optuna's JSON form
    user_attrs: dict[str, Any]
    last_reported: float | None = None  # the last intermediate value (when asked for)

    @property
    def failure_reason(self) -> str | None:
        if self.state not in _DEFAULT_REASON:
            return None
        return self.user_attrs.get(attrs.FAILURE_REASON, _DEFAULT_REASON[self.state])


def _engine(storage: optuna.storages.BaseStorage) -> sa.Engine:
    engine = getattr(storage, "engine", None)
    if engine is None:
        raise TypeError(f"{type(storage).__name__} is not an RDB storage; SQL reads need one")
    return engine


def _stored_value(value: float | None, value_type: str) -> float | None:
    """A trial value as Optuna stores it: infinities are a type, not a number."""
    if value_type == "INF_POS":
        return math.inf
    if value_type == "INF_NEG":
        return -math.inf
    return value


def _selectable_join() -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """Trials joined to their values and ``selectable`` mark, and the condition that keeps
    those that may be a study's best (``accounting.is_selectable``: no mark means a trial
    stored before racing, which is selectable)."""
    mark = _user_attrs.alias("selectable_mark")
    joined = _trials.join(_values, _values.c.trial_id == _trials.c.trial_id).outerjoin(
        mark, sa.and_(mark.c.trial_id == _trials.c.trial_id, mark.c.key == attrs.SELECTABLE)
    )
    condition = sa.and_(
        sa.cast(_trials.c.state, sa.String) == TrialState.COMPLETE.name,  # a PG enum
        _values.c.objective == 0,
        sa.or_(mark.c.value_json.is_(None), mark.c.value_json == json.dumps(True)),
    )
    return joined, condition


def study_ids(storage: optuna.storages.BaseStorage) -> dict[str, int]:
    """Every study's id by name (one query)."""
    with _engine(storage).connect() as conn:
        return dict(conn.execute(sa.select(_studies.c.study_name, _studies.c.study_id)).all())


def study_attr_texts(
    storage: optuna.storages.BaseStorage, study_ids: Sequence[int]
) -> dict[int, dict[str, str]]:
    """Each study's user attributes as stored (JSON text, unparsed), in one query."""
    out: dict[int, dict[str, str]] = {i: {} for i in study_ids}
    if not study_ids:
        return out
    query = sa.select(_study_attrs.c.study_id, _study_attrs.c.key, _study_attrs.c.value_json)
    with _engine(storage).connect() as conn:
        for study_id, key, value in conn.execute(
            query.where(_study_attrs.c.study_id.in_(study_ids))
        ):
            out[study_id][key] = value
    return out


def study_counts(
    storage: optuna.storages.BaseStorage, study_ids: Sequence[int]
) -> dict[int, TrialCounts]:
    """Counts by state and failure reason, budget-counted trials and best value, per study
    (two queries whatever the number of studies and trials)."""
    if not study_ids:
        return {}
    reason = sa.and_(
        _user_attrs.c.trial_id == _trials.c.trial_id, _user_attrs.c.key == attrs.FAILURE_REASON
    )
    grouped = (
        sa.select(_trials.c.study_id, _trials.c.state, _user_attrs.c.value_json, sa.func.count())
        .select_from(_trials.outerjoin(_user_attrs, reason))
        .where(_trials.c.study_id.in_(study_ids))
        .group_by(_trials.c.study_id, _trials.c.state, _user_attrs.c.value_json)
    )
    joined, selectable = _selectable_join()
    best = (
        sa.select(_trials.c.study_id, _values.c.value_type, sa.func.max(_values.c.value))
        .select_from(joined)
        .where(_trials.c.study_id.in_(study_ids), selectable)
        .group_by(_trials.c.study_id, _values.c.value_type)
    )
    states: dict[int, Counter[str]] = {i: Counter() for i in study_ids}
    failures: dict[int, Counter[str]] = {i: Counter() for i in study_ids}
    finished: Counter[int] = Counter()
    bests: dict[int, float] = {}
    with _engine(storage).connect() as conn:
        for study_id, state, reason_json, count in conn.execute(grouped):
            states[study_id][state] += count
            why = json.loads(reason_json) if reason_json is not None else None
            if state in _DEFAULT_REASON:
                why = why or _DEFAULT_REASON[state]
                failures[study_id][why] += count
            if state == TrialState.COMPLETE.name or (
                state in _DEFAULT_REASON and why not in NOT_COUNTED
            ):
                finished[study_id] += count
        for study_id, value_type, value in conn.execute(best):
            value = _stored_value(value, value_type)
            if value is not None and (study_id not in bests or value > bests[study_id]):
                bests[study_id] = value
    return {
        i: TrialCounts(dict(states[i]), dict(failures[i]), finished[i], bests.get(i))
        for i in study_ids
    }


def trial_page(
    storage: optuna.storages.BaseStorage, study_id: int, offset: int, limit: int
) -> list[StoredTrial]:
    """Trials ``offset .. offset+limit`` of a study by number (five queries per page); a
    queued trial shows the parameters it will be given."""
    page = (
        sa.select(_trials.c.trial_id, _trials.c.number, _trials.c.state)
        .where(_trials.c.study_id == study_id)
        .order_by(_trials.c.number)
        .offset(offset)
        .limit(limit)
    )
    with _engine(storage).connect() as conn:
        rows = conn.execute(page).all()
        ids = [r.trial_id for r in rows]
        values = _first_values(conn, ids)
        params, distributions = _params_of(conn, ids)
        user = _attrs_of(conn, _user_attrs, ids, _PAGE_ATTRS)
        fixed = _attrs_of(conn, _system_attrs, ids, ("fixed_params",))
    return [
        StoredTrial(
            number=r.number,
            state=r.state,
            value=values.get(r.trial_id),
            params=params.get(r.trial_id) or _queued_params(fixed.get(r.trial_id)),
            distributions=distributions.get(r.trial_id, {}),
            user_attrs=user.get(r.trial_id, {}),
        )
        for r in rows
    ]


def _queued_params(system_attrs: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters a queued trial will be given (Optuna keeps them in ``fixed_params``
    until the trial starts)."""
    return dict((system_attrs or {}).get("fixed_params") or {})


def _first_values(conn: sa.Connection, ids: list[int]) -> dict[int, float | None]:
    query = sa.select(_values.c.trial_id, _values.c.value, _values.c.value_type).where(
        _values.c.trial_id.in_(ids), _values.c.objective == 0
    )
    return {tid: _stored_value(v, kind) for tid, v, kind in conn.execute(query)} if ids else {}


@functools.lru_cache(maxsize=4096)
def _distribution(text: str) -> BaseDistribution:
    """A parsed distribution: the same few JSON texts repeat on every trial of a study."""
    return json_to_distribution(text)


def _params_of(
    conn: sa.Connection, ids: list[int]
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, str]]]:
    """Each trial's parameters (external values) and their distributions (JSON)."""
    params: dict[int, dict[str, Any]] = {}
    distributions: dict[int, dict[str, str]] = {}
    if not ids:
        return params, distributions
    query = sa.select(
        _params.c.trial_id, _params.c.param_name, _params.c.param_value, _params.c.distribution_json
    ).where(_params.c.trial_id.in_(ids))
    for tid, name, internal, dist in conn.execute(query):
        params.setdefault(tid, {})[name] = _distribution(dist).to_external_repr(internal)
        distributions.setdefault(tid, {})[name] = dist
    return params, distributions


def _attrs_of(
    conn: sa.Connection, table: sa.TableClause, ids: list[int], keys: Iterable[str]
) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    query = sa.select(table.c.trial_id, table.c.key, table.c.value_json).where(
        table.c.trial_id.in_(ids), table.c.key.in_(list(keys))
    )
    for tid, key, value in conn.execute(query):
        out.setdefault(tid, {})[key] = json.loads(value)
    return out


def stored_trials(
    storage: optuna.storages.BaseStorage,
    study_id: int,
    states: Sequence[TrialState],
    user_attr_keys: Sequence[str] = (),
    last_reported: bool = False,
) -> list[StoredTrial]:
    """The study's trials in ``states``, by number, in four or five queries per
    ``IN_CHUNK`` trials (2,000 trials of 20 parameters: well under a second, where
    ``get_trials`` takes seconds). ``last_reported``: with each one's last intermediate
    value."""
    names = [state.name for state in states]
    query = (
        sa.select(_trials.c.trial_id, _trials.c.number, _trials.c.state)
        .where(_trials.c.study_id == study_id, sa.cast(_trials.c.state, sa.String).in_(names))
        .order_by(_trials.c.number)
    )
    values: dict[int, float | None] = {}
    params: dict[int, dict[str, Any]] = {}
    distributions: dict[int, dict[str, str]] = {}
    user: dict[int, dict[str, Any]] = {}
    last: dict[int, float] = {}
    with _engine(storage).connect() as conn:
        rows = conn.execute(query).all()
        all_ids = [r.trial_id for r in rows]
        for start in range(0, len(all_ids), IN_CHUNK):
            ids = all_ids[start : start + IN_CHUNK]
            values.update(_first_values(conn, ids))
            chunk_params, chunk_distributions = _params_of(conn, ids)
            params.update(chunk_params)
            distributions.update(chunk_distributions)
            if user_attr_keys:
                user.update(_attrs_of(conn, _user_attrs, ids, user_attr_keys))
            if last_reported:
                last.update(_last_reported(conn, ids))
    return [
        StoredTrial(
            number=r.number,
            state=r.state,
            value=values.get(r.trial_id),
            params=params.get(r.trial_id, {}),
            distributions=distributions.get(r.trial_id, {}),
            user_attrs=user.get(r.trial_id, {}),
            last_reported=last.get(r.trial_id),
        )
        for r in rows
    ]


_steps = sa.table(
    "trial_intermediate_values",
    sa.column("trial_id"),
    sa.column("step"),
    sa.column("intermediate_value"),
    sa.column("intermediate_value_type"),
)
_STEP_VALUES = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}


def _last_reported(conn: sa.Connection, ids: list[int]) -> dict[int, float]:
    """Each trial's intermediate value at its last reported step."""
    if not ids:
        return {}
    last = (
        sa.select(_steps.c.trial_id, sa.func.max(_steps.c.step).label("step"))
        .where(_steps.c.trial_id.in_(ids))
        .group_by(_steps.c.trial_id)
        .subquery()
    )
    query = sa.select(
        _steps.c.trial_id, _steps.c.intermediate_value, _steps.c.intermediate_value_type
    ).join(last, (last.c.trial_id == _steps.c.trial_id) & (last.c.step == _steps.c.step))
    out = {}
    for tid, value, kind in conn.execute(query):
        kind = str(getattr(kind, "name", kind))
        out[tid] = _STEP_VALUES[kind] if kind in _STEP_VALUES else float(value)
    return out


def trial_id_of(
    storage: optuna.storages.BaseStorage, study_id: int, number: int | None = None
) -> int | None:
    """The id of trial ``number``, or of the study's best (``accounting.best_trial``: the
    selectable trial with the highest value; trials tied on it are read to compare their
    learning curves)."""
    if number is not None:
        query = sa.select(_trials.c.trial_id).where(
            _trials.c.study_id == study_id, _trials.c.number == number
        )
        with _engine(storage).connect() as conn:
            return conn.execute(query).scalar_one_or_none()
    rank = sa.case(
        (sa.cast(_values.c.value_type, sa.String) == "INF_POS", 2),
        (sa.cast(_values.c.value_type, sa.String) == "FINITE", 1),
        else_=0,
    )
    joined, selectable = _selectable_join()
    query = (
        sa.select(_trials.c.trial_id, rank.label("rank"), _values.c.value)
        .select_from(joined)
        .where(_trials.c.study_id == study_id, selectable)
        .order_by(rank.desc(), _values.c.value.desc(), _trials.c.number)
        .limit(TIES_READ)
    )
    with _engine(storage).connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return None
    top = [r.trial_id for r in rows if (r.rank, r.value) == (rows[0].rank, rows[0].value)]
    if len(top) == 1:
        return top[0]
    tied = {trial_id: storage.get_trial(trial_id) for trial_id in top}
    best = best_trial(list(tied.values()))
    if best is None:
        return top[0]
    return next(i for i, t in tied.items() if t.number == best.number)
