"""Stored trials read with a few SQL queries from Optuna's own tables: a page of a study's
trials, every trial in some states with chosen attributes (the knowledge base's history), the
id of a study's best. ``get_trials()`` loads every trial with everything it holds; these read
what a listing or a table needs (the aggregates are in ``autorl.study.stats``)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
import sqlalchemy as sa
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import TrialState

from autorl.study import attrs
from autorl.study.accounting import best_trial
from autorl.study.stats import (
    DEFAULT_REASON,
    PARAMS,
    STEPS,
    SYSTEM_ATTRS,
    TRIALS,
    USER_ATTRS,
    VALUES,
    engine_of,
    selectable_join,
    stored_value,
)

IN_CHUNK = 5000  # trial ids per IN (...) list: SQLite allows 32,766 bound values
TIES_READ = 20  # trials tied on the best value whose learning curves are compared, at most
_PAGE_ATTRS = (
    attrs.SOURCE,
    attrs.FAILURE_REASON,
    attrs.ENV_STEPS,
    attrs.WALL_S,
    attrs.SEED_SCORES,
    attrs.SELECTABLE,
    attrs.POLICY_PARAMS,
    attrs.LATENCY_US,
)


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
        if self.state not in DEFAULT_REASON:
            return None
        return self.user_attrs.get(attrs.FAILURE_REASON, DEFAULT_REASON[self.state])


def trial_page(
    storage: optuna.storages.BaseStorage, study_id: int, offset: int, limit: int
) -> list[StoredTrial]:
    """Trials ``offset .. offset+limit`` of a study by number (five queries per page); a
    queued trial shows the parameters it will be given."""
    page = (
        sa.select(TRIALS.c.trial_id, TRIALS.c.number, TRIALS.c.state)
        .where(TRIALS.c.study_id == study_id)
        .order_by(TRIALS.c.number)
        .offset(offset)
        .limit(limit)
    )
    with engine_of(storage).connect() as conn:
        rows = conn.execute(page).all()
        ids = [r.trial_id for r in rows]
        values = _first_values(conn, ids)
        params, distributions = _params_of(conn, ids)
        user = _attrs_of(conn, USER_ATTRS, ids, _PAGE_ATTRS)
        fixed = _attrs_of(conn, SYSTEM_ATTRS, ids, ("fixed_params",))
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
    query = sa.select(VALUES.c.trial_id, VALUES.c.value, VALUES.c.value_type).where(
        VALUES.c.trial_id.in_(ids), VALUES.c.objective == 0
    )
    return {tid: stored_value(v, kind) for tid, v, kind in conn.execute(query)} if ids else {}


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
        PARAMS.c.trial_id, PARAMS.c.param_name, PARAMS.c.param_value, PARAMS.c.distribution_json
    ).where(PARAMS.c.trial_id.in_(ids))
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
        sa.select(TRIALS.c.trial_id, TRIALS.c.number, TRIALS.c.state)
        .where(TRIALS.c.study_id == study_id, sa.cast(TRIALS.c.state, sa.String).in_(names))
        .order_by(TRIALS.c.number)
    )
    values: dict[int, float | None] = {}
    params: dict[int, dict[str, Any]] = {}
    distributions: dict[int, dict[str, str]] = {}
    user: dict[int, dict[str, Any]] = {}
    last: dict[int, float] = {}
    with engine_of(storage).connect() as conn:
        rows = conn.execute(query).all()
        all_ids = [r.trial_id for r in rows]
        for start in range(0, len(all_ids), IN_CHUNK):
            ids = all_ids[start : start + IN_CHUNK]
            values.update(_first_values(conn, ids))
            chunk_params, chunk_distributions = _params_of(conn, ids)
            params.update(chunk_params)
            distributions.update(chunk_distributions)
            if user_attr_keys:
                user.update(_attrs_of(conn, USER_ATTRS, ids, user_attr_keys))
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


_STEP_VALUES = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}


def _last_reported(conn: sa.Connection, ids: list[int]) -> dict[int, float]:
    """Each trial's intermediate value at its last reported step."""
    if not ids:
        return {}
    last = (
        sa.select(STEPS.c.trial_id, sa.func.max(STEPS.c.step).label("step"))
        .where(STEPS.c.trial_id.in_(ids))
        .group_by(STEPS.c.trial_id)
        .subquery()
    )
    query = sa.select(
        STEPS.c.trial_id, STEPS.c.intermediate_value, STEPS.c.intermediate_value_type
    ).join(last, (last.c.trial_id == STEPS.c.trial_id) & (last.c.step == STEPS.c.step))
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
        query = sa.select(TRIALS.c.trial_id).where(
            TRIALS.c.study_id == study_id, TRIALS.c.number == number
        )
        with engine_of(storage).connect() as conn:
            return conn.execute(query).scalar_one_or_none()
    rank = sa.case(
        (sa.cast(VALUES.c.value_type, sa.String) == "INF_POS", 2),
        (sa.cast(VALUES.c.value_type, sa.String) == "FINITE", 1),
        else_=0,
    )
    joined, selectable = selectable_join()
    query = (
        sa.select(TRIALS.c.trial_id, rank.label("rank"), VALUES.c.value)
        .select_from(joined)
        .where(TRIALS.c.study_id == study_id, selectable)
        .order_by(rank.desc(), VALUES.c.value.desc(), TRIALS.c.number)
        .limit(TIES_READ)
    )
    with engine_of(storage).connect() as conn:
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
