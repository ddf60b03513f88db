"""``/v1/studies``: submit, list and read studies; pause, resume, cancel; grow budgets.

Two routers, ``reads`` and ``writes``: ``create_app`` decides which need the token."""

from __future__ import annotations

import logging
from typing import Annotated

import optuna
from fastapi import APIRouter, Query, Response, status

from autorl import db, service
from autorl.api import store, submission
from autorl.api.deps import SettingsDep, StorageDep, StorageUrl
from autorl.api.errors import Conflict, TooMany, Unprocessable, documented
from autorl.api.schemas import (
    BudgetUpdate,
    FrontPublic,
    ListOf,
    StudyCreate,
    StudyPublic,
    TrialPublic,
)
from autorl.api.settings import ApiSettings
from autorl.api.views import json_safe, study_public, trial_public
from autorl.errors import StudyError
from autorl.study import attrs
from autorl.study.factory import set_budget, stored_budget
from autorl.study.record import State
from autorl.study.stats import study_counts
from autorl.study.trial_rows import trial_page

log = logging.getLogger(__name__)

MAX_OFFSET = 1_000_000_000  # an offset past any study (and inside SQL's integers)

reads = APIRouter(prefix="/v1/studies", tags=["studies"], responses=documented(503))
writes = APIRouter(prefix="/v1/studies", tags=["studies"], responses=documented(503))
CONTINUED = {200: {"model": StudyPublic, "description": "a stored study continued"}}


def _check_room(storage: optuna.storages.BaseStorage, settings: ApiSettings) -> None:
    """Refuse one more open study when ``max_concurrent_studies`` are open."""
    count = store.open_study_count(storage)
    if count >= settings.max_concurrent_studies:
        raise TooMany(
            f"{count} studies are open (not done, not cancelled), the limit of this server "
            f"(AUTORL_API_MAX_CONCURRENT_STUDIES={settings.max_concurrent_studies}); cancel "
            "one or wait for one to finish"
        )


@writes.post(
    "",
    response_model=StudyPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**CONTINUED, **documented(400, 409, 422, 429)},
)
def create_study(
    body: StudyCreate,
    response: Response,
    settings: SettingsDep,
    storage: StorageDep,
    url: StorageUrl,
) -> StudyPublic:
    """Create a study and queue its warm-start trials (workers run it); with the name and
    settings of a stored study, continue it (200) with a budget that never shrinks."""
    submission.check_consistent(body)
    submission.check_limits(body, settings)
    submission.check_code(body, settings)
    request = submission.request_of(body)
    service.check(request)  # a space or options that cannot make a study: 422
    name = request.study_name()
    db.ensure_schema(url)  # refuse an old schema before the study is created
    existing = store.find_study(storage, name)
    if existing is not None and attrs.STUDY_CONFIG not in existing.user_attrs:
        raise Conflict(f"a study named {name!r} exists but was not created by autorl")
    if existing is not None and store.operator_state(existing) == State.CANCELLED:
        raise Conflict(f"study {name!r} is cancelled; submit it under another name")
    if existing is None or store.study_state(storage, existing) == State.DONE:
        _check_room(storage, settings)
    try:
        submitted = service.submit(request, url)
    except StudyError as exc:  # stored with other settings (the schema bounds the rest)
        raise Conflict(str(exc)) from exc
    log.info(
        "%s study %s (budget %d)",
        "created" if submitted.created else "continued",
        name,
        submitted.budget,
    )
    if not submitted.created:
        response.status_code = status.HTTP_200_OK
    return _public(storage, submitted.study)


@reads.get("", response_model=ListOf[StudyPublic])
def list_studies(storage: StorageDep) -> ListOf[StudyPublic]:
    studies = [study_public(record) for record in store.autorl_studies(storage)]
    return ListOf[StudyPublic](data=studies, count=len(studies))


@reads.get("/{study_id}", response_model=StudyPublic, responses=documented(404))
def get_study(study_id: str, storage: StorageDep) -> StudyPublic:
    return _public(storage, store.get_study(storage, study_id))


@reads.get("/{study_id}/trials", response_model=ListOf[TrialPublic], responses=documented(404, 422))
def list_trials(
    study_id: str,
    storage: StorageDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ListOf[TrialPublic]:
    """Trials ordered by number; ``count`` is the study's total."""
    study = store.get_study(storage, study_id)
    internal_id = storage.get_study_id_from_name(study.study_name)
    total = study_counts(storage, [internal_id])[internal_id].total
    page = [trial_public(t) for t in trial_page(storage, internal_id, offset, limit)]
    return ListOf[TrialPublic](data=page, count=total)


@reads.get("/{study_id}/front", response_model=FrontPublic, responses=documented(404, 409))
def get_front(study_id: str, storage: StorageDep, url: StorageUrl) -> FrontPublic:
    """The front of return against the policy's size or latency (studies submitted with
    ``objectives``), cheapest first; 409 for a study tuned for return alone (what it is,
    not the request, has no front)."""
    from autorl.study.queries import pareto

    study = store.get_study(storage, study_id)
    try:
        front = pareto(study, db.study_random_return(url, study.study_name))
    except StudyError as exc:
        raise Conflict(str(exc)) from exc
    return FrontPublic.model_validate(json_safe(front.to_dict()))


@writes.post("/{study_id}/pause", response_model=StudyPublic, responses=documented(404, 409))
def pause(study_id: str, storage: StorageDep) -> StudyPublic:
    """Workers take no new trial of it; running trials finish."""
    study = store.get_study(storage, study_id)
    _refuse_cancelled(study, "paused")
    store.set_operator_state(study, State.PAUSED)
    return _public(storage, study)


@writes.post("/{study_id}/resume", response_model=StudyPublic, responses=documented(404, 409))
def resume(study_id: str, storage: StorageDep) -> StudyPublic:
    study = store.get_study(storage, study_id)
    _refuse_cancelled(study, "resumed")
    if store.operator_state(study) is not None:
        store.set_operator_state(study, None)
    return _public(storage, study)


@writes.post("/{study_id}/cancel", response_model=StudyPublic, responses=documented(404))
def cancel(study_id: str, storage: StorageDep) -> StudyPublic:
    """For good: workers take no new trial of it, and it cannot be resumed."""
    study = store.get_study(storage, study_id)
    if store.operator_state(study) != State.CANCELLED:
        store.set_operator_state(study, State.CANCELLED)
    return _public(storage, study)


@writes.patch(
    "/{study_id}/budget",
    response_model=StudyPublic,
    responses=documented(400, 404, 409, 422, 429),
)
def grow_budget(
    study_id: str,
    body: BudgetUpdate,
    settings: SettingsDep,
    storage: StorageDep,
) -> StudyPublic:
    """Set the total budget of finished trials: it may grow or stay, never shrink."""
    study = store.get_study(storage, study_id)
    _refuse_cancelled(study, "given more budget")
    current = stored_budget(study)
    if body.trials < current:
        raise Conflict(
            f"study {study_id!r} has a budget of {current} trials; a budget can only grow "
            f"(asked {body.trials})"
        )
    if body.trials > settings.max_trials:
        raise Unprocessable(
            f"trials {body.trials} is over this server's limit of {settings.max_trials} "
            "(AUTORL_API_MAX_TRIALS)"
        )
    if body.trials > current and store.study_state(storage, study) == State.DONE:
        _check_room(storage, settings)  # more budget reopens it
    set_budget(study, body.trials)
    return _public(storage, study)


def _public(storage: optuna.storages.BaseStorage, study: optuna.Study) -> StudyPublic:
    return study_public(store.counted(storage, study))


def _refuse_cancelled(study: optuna.Study, verb: str) -> None:
    if store.operator_state(study) == State.CANCELLED:
        raise Conflict(f"study {study.study_name!r} is cancelled and cannot be {verb}")
