"""``/v1/families``: task families and the best configurations found for them."""

from __future__ import annotations

from typing import Any

import optuna
from fastapi import APIRouter
from optuna.trial import TrialState

from autorl import db
from autorl.api import store
from autorl.api.deps import ReadAuth, StorageDep, StorageUrl
from autorl.api.errors import NotFound, Unprocessable
from autorl.api.schemas import Algo, FamilyPublic, ListOf
from autorl.api.views import json_safe
from autorl.search.family_queries import family_best

router = APIRouter(prefix="/v1/families", tags=["families"])


@router.get("", response_model=ListOf[FamilyPublic])
def list_families(_: ReadAuth, url: StorageUrl) -> ListOf[FamilyPublic]:
    families = [FamilyPublic(name=name, tasks=tasks) for name, tasks in db.list_families(url)]
    return ListOf[FamilyPublic](data=families, count=len(families))


def _algorithm(url: str, family: str, algorithm: str | None) -> tuple[str, list[str]]:
    """The algorithm to report on and the family's studies tuned with it."""
    known = [name for name, _tasks in db.list_families(url)]
    if family not in known:
        raise NotFound(
            f"no task family named {family!r} in this storage (families: "
            f"{', '.join(known) or 'none yet'})"
        )
    links = db.study_links(url, family=family, algo=algorithm)
    if not links:
        with_algo = f" tuned with {algorithm}" if algorithm else ""
        raise NotFound(f"family {family!r} has no studies{with_algo} yet")
    algos = sorted({link.algo for link in links})
    if len(algos) > 1:
        raise Unprocessable(
            f"family {family!r} was tuned with {', '.join(algos)}: choose one with the "
            "query parameter algorithm"
        )
    return algos[0], [link.study_name for link in links]


def _has_results(storage: optuna.storages.BaseStorage, names: list[str]) -> bool:
    for name in names:
        study = store.find_study(storage, name)
        if study is not None and study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            return True
    return False


@router.get("/{name}/best")
def best_of_family(
    name: str,
    _: ReadAuth,
    url: StorageUrl,
    storage: StorageDep,
    algorithm: Algo | None = None,
) -> dict[str, Any]:
    """Each task's best configuration and one recommendation for the whole family
    (``tasks`` is empty and ``recommended`` null until a trial of the family completes)."""
    algo, studies = _algorithm(url, name, algorithm)
    if not _has_results(storage, studies):
        return {"family": name, "algo": algo, "tasks": {}, "recommended": None}
    return json_safe(family_best(url, name, algo).to_dict())
