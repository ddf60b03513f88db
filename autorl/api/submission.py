"""Turn a ``StudyCreate`` into a checked study: limits, allowed entry points, task, space.

Every refusal here happens before anything is stored.
"""

from __future__ import annotations

from autorl.api.errors import Unprocessable
from autorl.api.schemas import StudyCreate
from autorl.api.settings import ApiSettings
from autorl.errors import StudyError
from autorl.search.study_config import StudyConfig, seed_fields, tuning_evaluation
from autorl.search.warmstart import WarmStartSettings
from autorl.spaces import SearchSpace, available_spaces, load_space
from autorl.types import TaskSpec


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


def module_allowed(target: str, prefixes: list[str]) -> bool:
    """Whether ``module:Name`` starts with an allowed prefix, at a module boundary."""
    for prefix in prefixes:
        if target == prefix:
            return True
        if target.startswith(prefix) and (
            prefix.endswith((".", ":")) or target[len(prefix)] in ".:"
        ):
            return True
    return False


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


def task_of(body: StudyCreate) -> TaskSpec:
    return TaskSpec(
        env_id=body.env_id,
        entry_point=body.entry_point,
        env_kwargs=body.env_kwargs,
        env_attrs=body.env_attrs,
        family=body.family,
    )


def study_name(body: StudyCreate, task: TaskSpec) -> str:
    """``name``, else the CLI's default: ``ENV-ALGO`` plus the task key for custom envs."""
    if body.name is not None:
        return body.name
    name = f"{task.env_id}-{body.algo}"
    if task.entry_point or task.env_kwargs or task.env_attrs:
        name += f"-{task.key()}"
    if "/" in name:
        raise Unprocessable(
            f"the default study name {name!r} contains '/', which cannot appear in a URL "
            "path; give a name"
        )
    return name


def space_of(body: StudyCreate) -> SearchSpace:
    """The shipped space by name (never a server path) or the inline document, checked."""
    if body.space_inline is not None:
        space = SearchSpace.from_dict(body.space_inline, source="space_inline")
    else:
        name = body.space or body.algo
        shipped = available_spaces()
        if name not in shipped:
            raise Unprocessable(
                f"space {name!r} is not a shipped search space (available: "
                f"{', '.join(shipped) or 'none'}); send your own as space_inline"
            )
        space = load_space(name)
    if space.algo != body.algo:
        raise Unprocessable(
            f"the search space {space.name!r} is for {space.algo}, but algo is {body.algo}"
        )
    return space


def study_config(
    body: StudyCreate, task: TaskSpec, space: SearchSpace
) -> tuple[StudyConfig, tuple[str, ...]]:
    """The study the body asks for, and the fields a continued study keeps from storage."""
    try:
        seeds, keep = seed_fields(
            body.seeds, body.max_seeds, body.min_seeds, body.race_z, body.aggregate
        )
        config = StudyConfig(
            task=task,
            algo=body.algo,
            space=space.to_dict(),
            timesteps=body.timesteps,
            **seeds,
            evaluation=tuning_evaluation(body.evaluations, body.eval_episodes),
            pruner=body.pruner,
            validation_seeds=body.validation_seeds,
            threshold=body.threshold,
        )
        config.check()
    except StudyError as exc:
        raise Unprocessable(str(exc)) from exc
    return config, keep


def warm_settings(body: StudyCreate) -> WarmStartSettings:
    return WarmStartSettings(mode=body.warm_start, proposals=body.warm_start_trials)
