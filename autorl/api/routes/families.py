"""``/v1/families``: task families and the best configurations found for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import optuna
from fastapi import APIRouter, Request
from optuna.trial import TrialState

from autorl import db
from autorl.api.deps import StorageDep, StorageUrl
from autorl.api.errors import Conflict, NotFound, documented
from autorl.api.result_cache import ResultCache
from autorl.api.schemas import Algo, FamilyPublic, ListOf
from autorl.api.views import json_safe
from autorl.knowledge.family_best import family_best
from autorl.study.stats import study_attr_texts, study_counts, study_ids

reads = APIRouter(prefix="/v1/families", tags=["families"], responses=documented(503))


@reads.get("", response_model=ListOf[FamilyPublic])
def list_families(url: StorageUrl) -> ListOf[FamilyPublic]:
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
        raise Conflict(
            f"family {family!r} was tuned with {', '.join(algos)}: choose one with the "
            "query parameter algorithm"
        )
    return algos[0], [link.study_name for link in links]


def _fingerprint(storage: optuna.storages.BaseStorage, names: list[str]) -> tuple:
    """Changes whenever a trial of these studies finishes or their attributes change."""
    ids = study_ids(storage)
    present = sorted(ids[name] for name in names if name in ids)
    counts = study_counts(storage, present)
    attrs = study_attr_texts(storage, present)
    return tuple(
        (
            study_id,
            tuple(sorted(counts[study_id].by_state.items())),
            tuple(sorted(attrs[study_id].items())),
        )
        for study_id in present
    )


def _completed(fingerprint: tuple) -> bool:
    return any(dict(states).get(TrialState.COMPLETE.name) for _id, states, _attrs in fingerprint)


@reads.get("/{name}/best", responses=documented(404, 409, 422))
def best_of_family(
    name: str,
    request: Request,
    url: StorageUrl,
    storage: StorageDep,
    algorithm: Algo | None = None,
) -> dict[str, Any]:
    """Each task's best configuration and one recommendation for the whole family
    (``tasks`` is empty and ``recommended`` null until a trial of the family completes).
    Answers are cached until a trial of the family finishes; then the previous answer is
    served with ``stale: true`` while a fresh one is computed (``as_of`` says when)."""
    algo, studies = _algorithm(url, name, algorithm)
    fingerprint = _fingerprint(storage, studies)
    if not _completed(fingerprint):
        return {"family": name, "algo": algo, "tasks": {}, "recommended": None, "stale": False}
    cache: ResultCache = request.app.state.results
    cached = cache.get(
        ("family-best", name, algo),
        (tuple(studies), fingerprint),
        lambda: json_safe(family_best(url, name, algo).to_dict()),
    )
    as_of = datetime.fromtimestamp(cached.computed_at, UTC).isoformat(timespec="seconds")
    return {**cached.value, "stale": cached.stale, "as_of": as_of}
