"""Last checks on a resolved configuration: what SB3 would reject, and the declared constraints.

Nothing here repairs; a violation means ``resolve`` must not return the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from autorl.errors import SpaceError
from autorl.spaces.constraints import CONSTRAINTS, Draft
from autorl.spaces.values import check_value


def _sb3_problems(d: Draft) -> list[str]:
    problems = []
    for name, value in d.kwargs.items():
        reason = check_value(name, value)
        if reason is not None:
            problems.append(f"{name} {reason}")
    if d.n_envs < 1:
        problems.append(f"n_envs must be >= 1, got {d.n_envs}")
    if d.get("use_sde") and d.kind != "box":
        problems.append(
            f"use_sde needs a box action space (this env's is {d.kind}); "
            "declare the sde_requires_box constraint or fix use_sde: false"
        )
    if d.algo == "ppo":
        if d.rollout < 2:
            problems.append(f"n_steps*n_envs must be > 1, got {d.rollout}")
        if int(d.get("batch_size")) < 2:
            problems.append(f"batch_size must be > 1, got {d.get('batch_size')}")
    return problems


def check(d: Draft, declared: Mapping[str, BaseModel]) -> None:
    """Raise ``SpaceError("infeasible: ...")`` listing what is wrong with the configuration."""
    problems = _sb3_problems(d)
    for name, args in declared.items():
        reason = CONSTRAINTS[name].violation(d, args)
        if reason is not None:
            problems.append(f"{name}: {reason}")
    if problems:
        raise SpaceError("infeasible: " + "; ".join(problems))
