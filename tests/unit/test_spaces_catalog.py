"""The space catalog (no SB3 import) stays in step with the installed Stable-Baselines3."""

from __future__ import annotations

import inspect

import pytest

from autorl.spaces import catalog
from autorl.spaces.values import known_names
from autorl.training.models import ALGORITHMS


def _defaults(cls: type) -> dict[str, object]:
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


@pytest.mark.parametrize("algo", catalog.ALGORITHMS)
def test_sb3_kwargs_exist_with_the_defaults_the_constraints_assume(algo: str) -> None:
    defaults = _defaults(ALGORITHMS[algo])
    missing = sorted(catalog.SB3_KWARGS[algo] - set(defaults))
    assert not missing, f"{algo} has no keyword arguments {missing}"
    for name, value in catalog.SB3_DEFAULTS[algo].items():
        assert defaults[name] == value, (algo, name)


@pytest.mark.parametrize("algo", catalog.ALGORITHMS)
def test_policy_kwargs_exist_in_the_mlp_policy(algo: str) -> None:
    policy = ALGORITHMS[algo].policy_aliases["MlpPolicy"]
    params = inspect.signature(policy.__init__).parameters
    assert not sorted(catalog.POLICY_KWARGS[algo] - set(params))


@pytest.mark.parametrize("algo", catalog.ALGORITHMS)
def test_every_accepted_name_has_a_value_check(algo: str) -> None:
    assert not sorted(catalog.accepted_names(algo) - known_names())
