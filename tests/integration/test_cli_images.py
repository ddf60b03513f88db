"""A pixel game from the command line: MinAtar's Breakout (10x10 frames, 4 channels) tuned
with a CNN chosen for its frames, for return and size, then trained, evaluated and compressed."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState

from tests.integration.cli_helpers import TINY, ppo_configuration, run_cli, trials

pytestmark = pytest.mark.integration
pytest.importorskip("minatar", reason="MinAtar is in the games and dev extras")


def test_a_pixel_game_is_tuned_with_a_cnn_then_trained_evaluated_and_compressed(
    tmp_path, sqlite_url, capsys
):
    queued = tmp_path / "queued.json"  # one stacked configuration among the sampled ones
    stacked = ppo_configuration(
        frame_stack=2, net_depth=1, net_width=16, activation="relu", cnn="16x3", cnn_features=64
    )
    queued.write_text(json.dumps([stacked]))
    study = "tune MinAtar/Breakout-v1 --study pixels --trials 2 --objectives return,params"
    args = [*study.split(), "--enqueue", str(queued), "--validation-seeds", "1"]
    code, out, err = run_cli([*args, "--storage", sqlite_url, *TINY], capsys)
    assert code == 0, err
    done = [t for t in trials(sqlite_url, "pixels") if t.state == TrialState.COMPLETE]
    assert len(done) == 2
    for t in done:
        config = t.user_attrs["config"]
        assert config["policy"] == "CnnPolicy"
        cnn = config["sb3_kwargs"]["policy_kwargs"]["cnn"]
        conv_weights = sum(c * k * k for c, k, _ in cnn["layers"])
        assert t.user_attrs["policy_params"] > conv_weights  # the CNN is counted
    assert done[0].user_attrs["config"]["env"]["frame_stack"] == 2

    models = {n: tmp_path / f"trial{n}.zip" for n in (0, 1)}  # 0: the stacked one
    for number, model in models.items():
        train = ["train", "pixels", "--trial", str(number), "--out", str(model)]
        code, out, err = run_cli([*train, "--storage", sqlite_url], capsys)
        assert code == 0, err
    code, out, err = run_cli(["evaluate", str(models[0]), "--episodes", "2"], capsys)
    assert code == 0, err
    assert "MinAtar/Breakout-v1:" in out and "over 2 episodes" in out

    # the CNN ships as ONNX (int8 too) and distils into an MLP on the frames ...
    compress = f"compress {models[1]} --out {tmp_path / 'c1'} --quantize int8 --onnx"
    tiny = "--distill 16 --episodes 2 --distill-steps 200 --distill-rounds 0"
    code, out, err = run_cli([*compress.split(), *tiny.split()], capsys)
    assert code == 0, err
    assert "teacher ONNX int8" in out and "student-16 ONNX fp32" in out
    # ... and a frame-stacked one plays on its stacked frames, in autorl evaluate too
    code, out, err = run_cli(["compress", str(models[0]), "--out", str(tmp_path / "c0")], capsys)
    assert code == 0, err
    sidecar = json.loads((tmp_path / "c0" / "teacher.autorl.json").read_text())
    assert sidecar["frame_stack"] == 2 and sidecar["obs_shape"] == [8, 10, 10]
    code, out, err = run_cli(["evaluate", str(tmp_path / "c0" / "teacher.onnx")], capsys)
    assert code == 0 and "MinAtar/Breakout-v1:" in out, err


def test_an_atari_game_is_tuned_on_its_grayscale_frames_with_a_cnn(sqlite_url, capsys):
    pytest.importorskip("ale_py", reason="ale-py is in the games and dev extras")
    env = json.dumps({"obs_type": "grayscale", "max_episode_steps": 100})  # tiny episodes
    tune = "tune ALE/Pong-v5 --study pong --trials 1 --seeds 1 --timesteps 256"
    tiny = "--evaluations 1 --eval-episodes 1 --validation-seeds 1 --validation-episodes 2"
    args = [*tune.split(), "--env-kwargs", env, *tiny.split(), "--no-progress"]
    code, out, err = run_cli([*args, "--storage", sqlite_url], capsys)
    assert code == 0, err
    (done,) = trials(sqlite_url, "pong")
    config = done.user_attrs["config"]
    assert config["policy"] == "CnnPolicy" and "cnn" in config["sb3_kwargs"]["policy_kwargs"]
    assert "test on unseen seeds [100000]" in out
