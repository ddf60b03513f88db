"""Turn a ``StudyCreate`` into a ``TuneRequest`` (``autorl.service``), after what the schema
cannot say and a server refuses: fields that contradict each other, limits, entry points
outside the allowed modules, a space read from a path.

Every refusal here happens before anything is stored.
"""

from __future__ import annotations

from dataclasses import fields

from autorl.api.errors import Unprocessable
from autorl.api.schemas import StudyCreate
from autorl.api.settings import ApiSettings
from autorl.knowledge.warmstart import WarmStartSettings
from autorl.service import TuneRequest
from autorl.spaces import available_spaces
from autorl.types import TaskSpec, module_allowed


def check_consistent(body: StudyCreate) -> None:
    """Rules between fields, which a JSON schema does not carry."""
    if body.space is not None and body.space_inline is not None:
        raise Unprocessable(
            "give either space (a shipped space's name) or space_inline (a space document), "
            "not both"
        )
    if body.evaluations > body.timesteps:
        raise Unprocessable(
            f"evaluations ({body.evaluations}) cannot exceed timesteps ({body.timesteps})"
        )


def check_limits(body: StudyCreate, settings: ApiSettings) -> None:
    if body.trials > settings.max_trials:
        raise Unprocessable(
            f"trials {body.trials} is over this server's limit of {settings.max_trials} "
            "(AUTORL_API_MAX_TRIALS)"
        )
    if body.timesteps > settings.max_timesteps:
        raise Unprocessable(
            f"timesteps {body.timesteps} is over this server's limit of "
            f"{settings.max_timesteps} per training run (AUTORL_API_MAX_TIMESTEPS)"
        )


def _refuse_module(what: str, value: str, settings: ApiSettings) -> Unprocessable:
    allowed = ", ".join(settings.allowed_entry_points) or "none"
    return Unprocessable(
        f"{what} {value!r} would import code on the server, and its module is not allowed here "
        f"(allowed prefixes: {allowed}; the setting is AUTORL_API_ENTRY_POINTS)"
    )


def check_code(body: StudyCreate, settings: ApiSettings) -> None:
    """Entry points (and ``module:Env`` ids, which Gymnasium imports) need an allowed prefix."""
    if body.entry_point and not module_allowed(body.entry_point, settings.allowed_entry_points):
        raise _refuse_module("entry_point", body.entry_point, settings)
    if ":" in body.env_id and not module_allowed(body.env_id, settings.allowed_entry_points):
        raise _refuse_module("env_id", body.env_id, settings)


def request_of(body: StudyCreate) -> TuneRequest:
    """The use case the body asks for; its name and space checked for what an HTTP server
    must refuse (a '/' in the name, a search space read from a server path)."""
    task = TaskSpec(
        env_id=body.env_id,
        entry_point=body.entry_point,
        env_kwargs=body.env_kwargs,
        env_attrs=body.env_attrs,
        family=body.family,
    )
    same = {f.name for f in fields(TuneRequest)} & set(StudyCreate.model_fields)
    request = TuneRequest(
        task=task,
        warm_start=WarmStartSettings(mode=body.warm_start, proposals=body.warm_start_trials),
        **{name: getattr(body, name) for name in same - {"warm_start"}},
    )
    name = request.study_name()
    if "/" in name:
        raise Unprocessable(
            f"the default study name {name!r} contains '/', which cannot appear in a URL "
            "path; give a name"
        )
    if body.space_inline is None:
        shipped = available_spaces()
        if (body.space or body.algo) not in shipped:
            raise Unprocessable(
                f"space {body.space or body.algo!r} is not a shipped search space (available: "
                f"{', '.join(shipped) or 'none'}); send your own as space_inline"
            )
    return request
