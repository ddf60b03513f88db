"""Each optional domain tuned for real with a tiny budget: a variant of its shipped family
(its settings from the family file), one trial, the chosen configuration tested."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState

from autorl.families import load_family
from tests.integration.cli_helpers import TINY, run_cli, trials

pytestmark = pytest.mark.integration

DOMAINS = {  # family, variant, algorithm, the module its extra installs
    "robot": ("inverted-pendulum-physics", "pole-heavy", "ppo", "mujoco"),
    "driving": ("highway-traffic", "dense", "dqn", "highway_env"),
    "box2d": ("lunarlander-wind", "wind-10", "ppo", "Box2D"),
}


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_a_domain_variant_is_tuned_and_tested(domain, sqlite_url, capsys):
    family, variant, algo, module = DOMAINS[domain]
    pytest.importorskip(module, reason=f"the extra with {module} is not installed")
    task = next(t for t in load_family(family).tasks if t.name == variant)
    spec = task.spec
    options = []
    if spec.env_kwargs:
        options += ["--env-kwargs", json.dumps(dict(spec.env_kwargs))]
    if spec.env_attrs:
        options += ["--env-attrs", json.dumps(dict(spec.env_attrs))]
    args = ["tune", spec.env_id, "--algo", algo, "--study", domain, "--trials", "1", *options]
    tiny = ["--timesteps", "300", "--validation-seeds", "1", "--validation-episodes", "2"]
    code, out, err = run_cli([*args, *TINY, *tiny, "--storage", sqlite_url], capsys)
    assert code == 0, err
    (done,) = trials(sqlite_url, domain)
    assert done.state == TrialState.COMPLETE
    assert "test on unseen seeds [100000]" in out
