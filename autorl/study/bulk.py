"""Many finished trials written at once into Optuna's tables (a knowledge-base import).

``Study.add_trials`` writes one trial per transaction through Optuna's ORM, about 65
statements per trial of an autorl study (each parameter's distribution is checked against
the study's earlier trials): 150 ms per trial on SQLite here, so importing a knowledge base
of 100,000 trials would take four hours. This writes each table's rows in one ``executemany``
in one transaction, through Optuna's own table definitions and value encodings (the schema
``autorl.study.stats`` reads; ``optuna<5`` is pinned for both). It skips Optuna's
per-parameter compatibility check: an imported trial's distributions come from the study it
was exported from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import optuna
import sqlalchemy as sa
from optuna.distributions import distribution_to_json
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial


def add_finished_trials(
    storage: optuna.storages.RDBStorage, study_id: int, trials: Sequence[FrozenTrial]
) -> None:
    """Append ``trials`` (finished: COMPLETE, PRUNED or FAIL) to the study, numbered after
    its last trial; all or nothing."""
    if not trials:
        return
    if any(not t.state.is_finished() for t in trials):
        raise ValueError("only finished trials can be added in bulk")
    table = models.TrialModel.__table__
    with storage.engine.begin() as conn:
        first = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.study_id == study_id)
        ).scalar_one()
        conn.execute(
            table.insert(),
            [
                {
                    "number": first + i,
                    "study_id": study_id,
                    "state": t.state,
                    "datetime_start": t.datetime_start,
                    "datetime_complete": t.datetime_complete,
                }
                for i, t in enumerate(trials)
            ],
        )
        ids = dict(
            conn.execute(
                sa.select(table.c.number, table.c.trial_id).where(
                    table.c.study_id == study_id, table.c.number >= first
                )
            ).all()
        )
        rows = _child_rows([(ids[first + i], t) for i, t in enumerate(trials)])
        for model, values in rows.items():
            if values:
                conn.execute(model.__table__.insert(), values)


def _child_rows(trials: list[tuple[int, FrozenTrial]]) -> dict[type, list[dict]]:
    params, values, steps, user, system = [], [], [], [], []
    for trial_id, t in trials:
        for name, value in t.params.items():
            dist = t.distributions[name]
            params.append(
                {
                    "trial_id": trial_id,
                    "param_name": name,
                    "param_value": dist.to_internal_repr(value),
                    "distribution_json": distribution_to_json(dist),
                }
            )
        for objective, value in enumerate(t.values or []):
            stored, kind = models.TrialValueModel.value_to_stored_repr(value)
            values.append(
                {"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind}
            )
        for step, value in t.intermediate_values.items():
            stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(
                value
            )
            steps.append(
                {
                    "trial_id": trial_id,
                    "step": step,
                    "intermediate_value": stored,
                    "intermediate_value_type": kind,
                }
            )
        user += [
            {"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
            for k, v in t.user_attrs.items()
        ]
        system += [
            {"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
            for k, v in t.system_attrs.items()
        ]
    return {
        models.TrialParamModel: params,
        models.TrialValueModel: values,
        models.TrialIntermediateValueModel: steps,
        models.TrialUserAttributeModel: user,
        models.TrialSystemAttributeModel: system,
    }
