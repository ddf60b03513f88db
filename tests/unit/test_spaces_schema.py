"""Malformed space files are refused with SpaceError naming the file, the field and the reason."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from autorl.errors import SpaceError
from autorl.spaces import load_space

GOOD_PARAMS = """\
  learning_rate: {type: float, low: 1.0e-5, high: 1.0e-3, log: true}
  n_steps: {type: categorical, choices: [64, 128]}
"""


def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(SpaceError) as info:
        load_space(path)
    message = str(info.value)
    assert "bad.yaml" in message
    return message


CASES = {
    "log_low_not_positive": (
        "algo: ppo\nparams:\n  learning_rate: {type: float, low: 0, high: 0.1, log: true}\n",
        "params.learning_rate.low: must be > 0 for a log-scale parameter",
    ),
    "low_not_below_high": (
        "algo: ppo\nparams:\n  vf_coef: {type: float, low: 0.8, high: 0.5}\n",
        "params.vf_coef.low: must be < high",
    ),
    "int_low_not_below_high": (
        "algo: ppo\nparams:\n  n_epochs: {type: int, low: 5, high: 5}\n",
        "params.n_epochs.low: must be < high",
    ),
    "empty_choices": (
        "algo: ppo\nparams:\n  n_steps: {type: categorical, choices: []}\n",
        "params.n_steps.choices: give at least one choice",
    ),
    "non_primitive_choice": (
        "algo: ppo\nparams:\n  n_steps: {type: categorical, choices: [64, [1, 2]]}\n",
        "params.n_steps.choices[1]: must be a string, number, boolean or null",
    ),
    "unknown_algo": ("algo: ppo2\nparams: {}\n", "algo: unknown algorithm 'ppo2'"),
    "unknown_param_type": (
        "algo: ppo\nparams:\n  learning_rate: {type: uniform, low: 0.1, high: 0.2}\n",
        "params.learning_rate.type: unknown parameter type 'uniform'",
    ),
    "missing_param_type": (
        "algo: ppo\nparams:\n  learning_rate: {low: 0.1, high: 0.2}\n",
        "params.learning_rate.type: missing",
    ),
    "no_algorithm_accepts": (
        "algo: ppo\nparams:\n  learning_rat: {type: float, low: 0.1, high: 0.2}\n",
        "params.learning_rat: no algorithm accepts this parameter",
    ),
    "other_algorithms_parameter": (
        "algo: ppo\nparams:\n  buffer_size: 10000\n",
        "params.buffer_size: not a parameter of ppo (it belongs to dqn, sac, td3)",
    ),
    "unknown_constraint": (
        "algo: ppo\nparams: {}\nconstraints:\n  batch_divides: {}\n",
        "constraints.batch_divides: unknown constraint",
    ),
    "constraint_for_other_algo": (
        "algo: a2c\nparams: {}\nconstraints:\n  batch_divides_rollout: {}\n",
        "constraints.batch_divides_rollout: does not apply to a2c",
    ),
    "constraint_bad_argument": (
        "algo: ppo\nparams: {}\nconstraints:\n  max_grad_updates_per_step: {max: -1}\n",
        "constraints.max_grad_updates_per_step.max: Input should be greater than 0",
    ),
    "constraint_unknown_argument": (
        "algo: ppo\nparams: {}\nconstraints:\n  max_rollout: {max_steps: 64, min: 2}\n",
        "constraints.max_rollout.min: unknown field",
    ),
    "unknown_top_level_field": (
        "algo: ppo\nparams: {}\nparamz: {}\n",
        "paramz: unknown field",
    ),
    "missing_params": ("algo: ppo\n", "params: required field is missing"),
    "unknown_param_field": (
        "algo: ppo\nparams:\n  vf_coef: {type: float, lo: 0.1, high: 0.2}\n",
        "params.vf_coef.lo: unknown field",
    ),
    "when_refers_to_later_parameter": (
        """\
        algo: ppo
        params:
          sde_sample_freq: {type: categorical, choices: [4, 8], when: {use_sde: true}}
          use_sde: {type: categorical, choices: [false, true]}
        """,
        "params.sde_sample_freq.when.use_sde: refers to 'use_sde', which is not declared before",
    ),
    "when_value_never_matches": (
        """\
        algo: ppo
        params:
          use_sde: {type: categorical, choices: [false, true]}
          sde_sample_freq: {type: categorical, choices: [4, 8], when: {use_sde: yes_please}}
        """,
        "params.sde_sample_freq.when.use_sde: 'yes_please' can never match use_sde",
    ),
    "when_unknown_action_space": (
        "algo: ppo\nparams:\n  use_sde: {type: fixed, value: true, when: {action_space: boxy}}\n",
        "params.use_sde.when.action_space: unknown action-space kind 'boxy'",
    ),
    "unknown_activation": (
        "algo: ppo\nparams:\n  net_depth: 2\n  net_width: 64\n"
        "  activation: {type: categorical, choices: [tanh, swish]}\n",
        "params.activation.choices[1]: must be one of tanh, relu",
    ),
    "value_outside_domain": (
        "algo: ppo\nparams:\n  one_minus_gamma: {type: float, low: 0.01, high: 1.5}\n",
        "params.one_minus_gamma.high: must be < 1",
    ),
    "int_range_through_invalid_value": (
        "algo: dqn\nparams:\n  gradient_steps: {type: int, low: -1, high: 4}\n",
        "params.gradient_steps: the range includes 0, which must be >= 1 (or -1)",
    ),
    "wrong_value_type": (
        "algo: ppo\nparams:\n  n_steps: {type: categorical, choices: [64, '128']}\n",
        "params.n_steps.choices[1]: must be an integer",
    ),
    "env_setting_in_params": (
        "algo: ppo\nparams:\n  n_envs: 4\n",
        "params.n_envs: an env setting: declare it in the env: section",
    ),
    "unknown_env_setting": (
        "algo: ppo\nenv:\n  normalise: true\nparams: {}\n",
        "env.normalise: unknown env setting",
    ),
    "conflicting_names": (
        "algo: ppo\nparams:\n  gamma: 0.99\n"
        "  one_minus_gamma: {type: float, low: 0.001, high: 0.1}\n",
        "params.one_minus_gamma: says the same as params.gamma",
    ),
    "semantic_without_base": (
        "algo: ppo\nparams:\n  lr_schedule: {type: categorical, choices: [constant, linear]}\n",
        "params.lr_schedule: needs params.learning_rate",
    ),
    "noise_without_std": (
        "algo: td3\nparams:\n  noise_type: {type: categorical, choices: [normal, none]}\n",
        "params.noise_type: needs params.noise_std",
    ),
    "unknown_policy": ("algo: ppo\npolicy: MlpPolizy\nparams: {}\n", "policy: unknown policy"),
    "log_with_step": (
        "algo: ppo\nparams:\n"
        "  ent_coef: {type: float, low: 0.001, high: 0.1, log: true, step: 0.001}\n",
        "params.ent_coef.step: a log-scale parameter cannot have a step",
    ),
    "top_level_not_mapping": ("- algo\n- ppo\n", "(top level): must be a mapping"),
    "invalid_yaml": ("algo: ppo\nparams: {learning_rate: [1, 2\n", "not valid YAML"),
    "huge_int_range": (
        "algo: ppo\nparams:\n  n_epochs: {type: int, low: 1, high: 1000000000000}\n",
        "params.n_epochs.high: must be <= 1,000, got 1,000,000,000,000",
    ),
    "absurd_learning_rate": (
        "algo: ppo\nparams:\n  learning_rate: {type: float, low: 1.0e-5, high: 1.0e300}\n",
        "params.learning_rate.high: must be <= 1",
    ),
    "python_object_tag": (
        "algo: ppo\nparams:\n  learning_rate: !!python/object/apply:os.system [echo]\n",
        "not valid YAML: could not determine a constructor for the tag",
    ),
    "alias_inside_itself": (
        "algo: ppo\nparams:\n  learning_rate: &a [*a]\n",
        "cannot be used: an alias refers to a value that contains it",
    ),
    "alias_bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{n}: &{n} [{', '.join([f'*{m}'] * 10)}]\n"
            for m, n in zip("abcd", "bcde", strict=True)
        )
        + "algo: ppo\nparams: {}\n",
        "cannot be used: more than 100000 values once its aliases are expanded",
    ),
    "duplicate_key": (
        "algo: ppo\nparams:\n  vf_coef: 0.5\n  vf_coef: 0.6\n",
        "duplicate key 'vf_coef'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_space_is_refused_with_file_field_and_reason(tmp_path: Path, case: str) -> None:
    text, expected = CASES[case]
    message = _error(tmp_path, text)
    assert expected in message, message


def test_every_problem_is_reported(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        """\
        algo: ppo
        params:
          learning_rate: {type: float, low: 0, high: 0.1, log: true}
          n_steps: {type: categorical, choices: []}
        """,
    )
    lines = message.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("params.learning_rate.low: must be > 0 for a log-scale parameter")
    assert lines[1].endswith("params.n_steps.choices: give at least one choice")
    assert all(line.startswith(f"{tmp_path.name}") or "bad.yaml" in line for line in lines)


def test_missing_file_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match=re.escape("nope.yaml: no such file")):
        load_space(tmp_path / "nope.yaml")
    with pytest.raises(SpaceError, match=r"no search space named 'nope' \(available: .*ppo"):
        load_space("nope")


def test_exponent_floats_without_a_dot_are_numbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "algo: ppo\nparams:\n  learning_rate: {type: float, low: 1e-5, high: 1e-3, log: true}\n",
        "ok.yaml",
    )
    space = load_space(path)
    assert space.to_dict()["params"]["learning_rate"]["low"] == 1e-5
    assert space.name == "ok"


def test_good_minimal_space_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, "algo: PPO\nparams:\n" + GOOD_PARAMS, "mini.yaml")
    space = load_space(str(path))
    assert space.algo == "ppo"
    assert space.policy == "MlpPolicy"
    assert space.searched == ("learning_rate", "n_steps")
