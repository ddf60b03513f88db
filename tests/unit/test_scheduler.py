"""Which study a worker serves next, and that a finished study is not counted at every claim."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from autorl.runtime import scheduler
from autorl.study import attrs, listing, record
from autorl.study.storage import open_storage
from tests.unit.test_search_budget import make_config

LR = {"lr": FloatDistribution(1e-5, 1e-2, log=True)}


def stored_study(url: str, name: str, budget: int, done: int, priority: int = 0) -> None:
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    study.set_user_attr(attrs.STUDY_CONFIG, make_config().to_dict())
    record.write_budget(study, budget)
    record.write_priority(study, priority)
    study.add_trials(
        [create_trial(params={"lr": 1e-3}, distributions=LR, value=1.0) for _ in range(done)]
    )


def test_the_open_study_of_highest_priority_is_served_and_a_done_one_is_counted_once(
    sqlite_url, monkeypatch
):
    storage = open_storage(sqlite_url)
    stored_study(sqlite_url, "done", budget=2, done=2, priority=9)
    stored_study(sqlite_url, "low", budget=3, done=1)
    stored_study(sqlite_url, "high", budget=3, done=1, priority=5)
    counted: list[list[int]] = []
    study_counts = listing.study_counts
    monkeypatch.setattr(
        listing, "study_counts", lambda s, ids: counted.append(list(ids)) or study_counts(s, ids)
    )
    assert scheduler.next_study(storage) == "high"
    assert scheduler.next_study(storage, skip={"high"}) == "low"
    done_id = storage.get_study_id_from_name("done")
    assert done_id in counted[0] and all(done_id not in ids for ids in counted[1:])
    # a budget that grows makes it open again
    record.write_budget(optuna.load_study(study_name="done", storage=storage), 4)
    assert scheduler.next_study(storage) == "done"
