"""Which parameters of a space exist for given values: the ``when:`` conditions."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from autorl.spaces.params import ACTION_SPACE_KEY, ParamSpec, same


def is_active(
    spec: ParamSpec,
    values: Mapping[str, Any],
    inactive: Set[str],
    action_space_kind: str | None,
) -> bool | None:
    """``True``/``False``; ``None`` when it depends on something unknown.

    ``values`` holds the active parameters decided so far, ``inactive`` those that do not
    exist. An unknown action-space kind, or a referenced parameter that is neither, is unknown.
    """
    unknown = False
    for ref, allowed in (spec.when or {}).items():
        if ref == ACTION_SPACE_KEY:
            if action_space_kind is None:
                unknown = True
            elif action_space_kind not in allowed:
                return False
        elif ref in inactive:
            return False
        elif ref not in values:
            unknown = True
        elif not any(same(values[ref], a) for a in allowed):
            return False
    return None if unknown else True
