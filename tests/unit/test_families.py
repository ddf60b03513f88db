"""Task-family files and task features."""

from __future__ import annotations

import pytest

from autorl.envs.features import probe_features
from autorl.envs.gym_tasks import make_env
from autorl.errors import FamilyError, TaskError
from autorl.families import load_family, parse_family, shipped_families
from autorl.types import TaskFeatures, TaskSpec

EXTRAS = {  # the module a shipped family's environments need, and the extra installing it
    "lunarlander-wind": ("Box2D", "box2d"),
    "minatar-breakout": ("minatar", "games"),
    "highway-traffic": ("highway_env", "driving"),
    "inverted-pendulum-physics": ("mujoco", "mujoco"),
}


@pytest.mark.parametrize("name", shipped_families())
def test_shipped_families_load_by_name_and_every_variant_builds(name):
    family = load_family(name)
    assert family.name == name and 4 <= len(family.tasks) <= 6
    assert len({t.spec.key() for t in family.tasks}) == len(family.tasks)
    assert all(t.spec.family == family.name for t in family.tasks)
    module, extra = EXTRAS.get(name, ("gymnasium", ""))
    pytest.importorskip(module, reason=f"the {extra} extra is not installed")
    for task in family.tasks:  # every variant's settings exist (a typo fails here)
        make_env(task.spec).close()


def test_an_unknown_family_lists_the_shipped_ones():
    with pytest.raises(FamilyError, match=r"nor a shipped family.*pendulum-physics"):
        load_family("pendulum-physic")


def test_variants_merge_over_the_base():
    family = parse_family(
        {
            "name": "p",
            "base": {"env_id": "Pendulum-v1", "env_kwargs": {"g": 9.0}},
            "variants": [{"env_attrs": {"m": 1.3}}, {"name": "g12", "env_kwargs": {"g": 12.0}}],
        }
    )
    first, second = family.tasks
    assert first.spec.env_kwargs == {"g": 9.0} and first.spec.env_attrs == {"m": 1.3}
    assert first.name == "g=9.0,m=1.3" and second.name == "g12"
    assert second.spec.env_kwargs == {"g": 12.0}


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            {"name": "x", "base": {"env_id": "A-v0"}, "variants": [{"gravity": 1}]},
            "variants[0].gravity: unknown field",
        ),
        ({"name": "x", "base": {}, "variants": [{}]}, "variants[0].env_id: required"),
        ({"name": "x y", "base": {"env_id": "A-v0"}, "variants": [{}]}, "name: letters"),
        ({"name": "x", "base": {"env_id": "A-v0"}, "variants": []}, "variants"),
        (
            {
                "name": "x",
                "base": {"env_id": "A-v0"},
                "variants": [{"name": "a"}, {"name": "a", "env_kwargs": {"g": 1}}],
            },
            "'a' is used twice",
        ),
        (
            {"name": "x", "base": {"env_id": "A-v0"}, "variants": [{"name": "a"}, {"name": "b"}]},
            "a, b are the same environment",
        ),
    ],
)
def test_malformed_family_files_are_refused_naming_the_field(doc, message):
    with pytest.raises(FamilyError, match=r"fam\.yaml: ") as info:
        parse_family(doc, "fam.yaml")
    assert message in str(info.value)


def test_a_missing_or_broken_family_file_is_refused(tmp_path):
    with pytest.raises(FamilyError, match="no such family file"):
        load_family(tmp_path / "none.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(FamilyError, match="not valid YAML"):
        load_family(broken)


def test_features_are_deterministic_and_tell_variants_apart():
    base = probe_features(TaskSpec("CartPole-v1"))
    assert base == probe_features(TaskSpec("CartPole-v1"))
    assert base.action.kind == "discrete" and base.action.n == 2
    assert base.observation.shape == (4,) and base.max_episode_steps == 500
    assert base.reward_threshold == 475.0 and base.reward_per_step_mean == 1.0
    longer = probe_features(TaskSpec("CartPole-v1", env_attrs={"length": 1.0}))
    assert longer.random_return_mean != base.random_return_mean
    assert TaskFeatures.from_dict(longer.to_dict()) == longer


def test_features_of_a_continuous_task():
    pendulum = probe_features(TaskSpec("Pendulum-v1"), episodes=3)
    assert pendulum.action.kind == "box" and (pendulum.action.low, pendulum.action.high) == (-2, 2)
    assert pendulum.random_episode_length == 200 and pendulum.random_return_mean < -500


def test_probing_an_env_that_cannot_be_built_is_a_task_error():
    with pytest.raises(TaskError, match="unknown environment id"):
        probe_features(TaskSpec("NoSuchEnv-v0"))
