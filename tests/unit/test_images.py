"""Image observations: the layout the policy sees, frame stacking, convolutional stacks as
search-space values, and the space a pixel task is searched with."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import optuna
import pytest
from gymnasium import spaces

from autorl.envs import gym_tasks
from autorl.envs.images import StackedFrames, as_image_task_env, image_layout, is_image
from autorl.errors import SpaceError, TaskError
from autorl.spaces import SearchSpace, conv, load_space
from autorl.types import TaskSpec

optuna.logging.set_verbosity(optuna.logging.WARNING)


class Frames(gym.Env):
    """Counts its steps into a (H, W, C) image of ``dtype`` in [0, 1] (channel c holds the
    step count plus c, scaled)."""

    def __init__(self, shape=(6, 5, 2), dtype=np.float32, steps: int = 5) -> None:
        self.observation_space = spaces.Box(0, 1, shape, dtype=dtype)
        self.action_space = spaces.Discrete(2)
        self._t, self._steps = 0, steps

    def _obs(self) -> np.ndarray:
        h, w, c = self.observation_space.shape
        values = np.stack([np.full((h, w), (self._t + k) % 2) for k in range(c)], axis=-1)
        return values.astype(self.observation_space.dtype)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        self._t += 1
        return self._obs(), 1.0, self._t >= self._steps, False, {}


def test_any_image_reaches_the_policy_as_uint8_channels_first_scaled_to_255():
    for dtype in (np.float32, bool):
        env = as_image_task_env(Frames(dtype=dtype))
        assert env.observation_space == spaces.Box(0, 255, (2, 6, 5), np.uint8)
        assert is_image(env.observation_space)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (2, 6, 5) and obs.dtype == np.uint8
        assert (obs[0] == 0).all() and (obs[1] == 255).all()  # channel 1 holds t + 1 = 1
    ready = spaces.Box(0, 255, (3, 8, 8), np.uint8)
    assert image_layout(ready) == "chw" and image_layout(spaces.Box(0, 1, (8, 8, 3))) == "hwc"
    assert image_layout(spaces.Box(-np.inf, np.inf, (8, 8, 3))) is None
    assert image_layout(spaces.Box(0, 1, (4,))) is None
    vector = gym.make("CartPole-v1")
    assert as_image_task_env(vector) is vector
    gray = spaces.Box(0, 255, (12, 9), np.uint8)  # a grayscale frame gets its channel axis
    assert image_layout(gray) == "hw" and image_layout(spaces.Box(0, 1, (12, 9))) is None


def test_stacked_frames_hold_the_last_k_observations_and_the_first_after_a_reset():
    env = StackedFrames(as_image_task_env(Frames(shape=(4, 4, 1))), 3)
    assert env.observation_space.shape == (3, 4, 4) and is_image(env.observation_space)
    obs, _ = env.reset(seed=0)
    assert [int(obs[i, 0, 0]) for i in range(3)] == [0, 0, 0]
    obs, *_ = env.step(0)
    assert [int(obs[i, 0, 0]) for i in range(3)] == [0, 0, 255]  # oldest first
    obs, *_ = env.step(0)
    assert [int(obs[i, 0, 0]) for i in range(3)] == [0, 255, 0]
    with pytest.raises(ValueError, match="frame_stack must be at least 1"):
        StackedFrames(Frames(), 0)


def test_conv_stacks_parse_fit_frames_and_explain_a_malformed_one():
    assert conv.parse_stack("nature") == conv.parse_stack("32x8/4-64x4/2-64x3")
    assert conv.parse_stack("16x3-32x5/2") == ((16, 3, 1), (32, 5, 2))
    assert conv.output_size(conv.parse_stack("nature"), 84, 84) == (7, 7)  # the Nature DQN's
    assert "nature" not in conv.fitting_stacks(10, 10)  # MinAtar's frames
    assert conv.fitting_stacks(10, 10)[0] == "16x3" and "nature" in conv.fitting_stacks(84, 84)
    assert conv.fitting_stacks(2, 2) == []
    atari = conv.fitting_stacks(210, 160)  # stride-1 stacks would leave 500k features
    assert atari == ["16x8/4-32x4/2", "nature"] and conv.flat_features("nature", 210, 160) == 22528
    for bad, reason in (("16x", "CHANNELSxKERNEL"), ("0x3", "channels"), (16, "stack such as")):
        assert reason in conv.check_stack(bad)
    kwargs = conv.extractor_kwargs("16x3", 128)
    assert kwargs == {"layers": [[16, 3, 1]], "features_dim": 128}


def test_a_space_for_images_searches_a_cnn_that_fits_and_drops_what_images_cannot_use():
    space = load_space("ppo").for_images(10, 10)
    assert space.policy == "CnnPolicy"
    assert "shared_trunk" not in space.names and "head_depth" not in space.names
    assert space.spec("cnn").choices == conv.fitting_stacks(10, 10)
    assert space.fixed["normalize_obs"] is False
    assert space.spec("frame_stack").choices == [1, 2, 4]
    small = space.with_small_networks()  # a size study on pixels: the critic apart, no trunk
    assert "when" not in small.to_dict()["params"]["critic_depth"]
    assert space.for_images(10, 10) is space  # a space with cnn is left as it is
    with pytest.raises(SpaceError, match="no convolutional stack"):
        load_space("dqn").for_images(2, 2)


def test_a_space_refuses_a_cnn_beside_a_shared_trunk_and_a_malformed_stack():
    data = load_space("ppo").for_images(10, 10).to_dict()
    data["params"]["shared_trunk"] = {"type": "categorical", "choices": [False, True]}
    with pytest.raises(SpaceError, match="drop shared_trunk"):
        SearchSpace.from_dict(data)
    data = load_space("ppo").for_images(10, 10).to_dict()
    data["params"]["cnn"] = {"type": "categorical", "choices": ["16x3", "16by3"]}
    with pytest.raises(SpaceError, match=r"params\.cnn.*'16by3'.*CHANNELSxKERNEL"):
        SearchSpace.from_dict(data)
    del data["params"]["cnn"]
    with pytest.raises(SpaceError, match=r"params\.cnn_features: needs params\.cnn"):
        SearchSpace.from_dict(data)


def test_an_env_id_of_a_namespace_whose_package_is_missing_says_what_to_install(monkeypatch):
    missing = (re.compile(r"Nowhere/.+"), "no_such_module_x", "f", "nowhere")
    monkeypatch.setattr(gym_tasks, "REGISTRARS", (missing, *gym_tasks.REGISTRARS))
    with pytest.raises(TaskError, match=r"pip install 'autorl\[nowhere\]'"):
        gym_tasks.make_env(TaskSpec("Nowhere/Game-v0"))


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn"])
def test_random_configurations_for_a_pixel_game_build_a_cnn_on_its_stacked_frames(algo):
    pytest.importorskip("minatar", reason="MinAtar is in the games and dev extras")
    from autorl.training.envs import make_vec_env
    from autorl.training.models import build_model
    from autorl.training.policies import ConvExtractor

    task = TaskSpec("MinAtar/Breakout-v1")
    observation = gym_tasks.probe_task(task)["observation_space"]
    assert observation["image"] and observation["shape"] == [4, 10, 10]
    space = load_space(algo).for_images(10, 10)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for i in range(8):
        config = space.resolve(space.sample(study.ask(), "discrete"), "discrete").config
        if "buffer_size" in config.sb3_kwargs:
            config = config.__class__(
                config.algo, config.policy, {**config.sb3_kwargs, "buffer_size": 500}, config.env
            )
        venv = make_vec_env(task, config.env, seed=i)
        try:
            model = build_model(config, venv, seed=i)
            policy = model.policy
            extractor = getattr(policy, "q_net", policy).features_extractor
            assert isinstance(extractor, ConvExtractor)
            assert model.observation_space.shape == (4 * config.env.frame_stack, 10, 10)
            seen.add(config.env.frame_stack)
        finally:
            venv.close()
    assert len(seen) > 1  # stacked and unstacked frames were both built


def test_a_stack_too_large_for_the_frames_is_an_infeasible_configuration():
    from autorl.errors import TrialFailure
    from autorl.training.policies import ConvExtractor
    from autorl.types import FailureReason

    frames = spaces.Box(0, 255, (4, 10, 10), np.uint8)
    layers = conv.extractor_kwargs("nature", 512)["layers"]
    with pytest.raises(TrialFailure, match=r"layer 2 \(64x4/2\) does not fit the \(10, 10\)") as e:
        ConvExtractor(frames, layers, 512)
    assert e.value.reason == FailureReason.INFEASIBLE
    fits = ConvExtractor(frames, conv.extractor_kwargs("16x3-32x3", 64)["layers"], 64)
    assert fits.features_dim == 64


def test_an_atari_game_registers_on_use_and_its_grayscale_frames_get_a_channel():
    pytest.importorskip("ale_py", reason="ale-py is in the games and dev extras")
    task = TaskSpec("ALE/Pong-v5", env_kwargs={"obs_type": "grayscale"})
    env = gym_tasks.make_env(task)
    assert env.observation_space == spaces.Box(0, 255, (1, 210, 160), np.uint8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (1, 210, 160)
    env.close()
    space = load_space("ppo").for_images(210, 160)
    assert space.spec("cnn").choices == ["16x8/4-32x4/2", "nature"]
