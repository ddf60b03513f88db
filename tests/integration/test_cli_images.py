"""A pixel game from the command line: MinAtar's Breakout (10x10 frames, 4 channels) tuned
with a CNN chosen for its frames, for return and size, then trained and evaluated."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState

from tests.integration.cli_helpers import TINY, ppo_configuration, run_cli, trials

pytestmark = pytest.mark.integration
pytest.importorskip("minatar", reason="MinAtar is in the minatar and dev extras")


def test_a_pixel_game_is_tuned_with_a_cnn_then_trained_evaluated_and_not_compressed(
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

    model = tmp_path / "pixels.zip"
    code, out, err = run_cli(
        ["train", "pixels", "--out", str(model), "--storage", sqlite_url], capsys
    )
    assert code == 0, err
    code, out, err = run_cli(["evaluate", str(model), "--episodes", "2"], capsys)
    assert code == 0, err
    assert "MinAtar/Breakout-v1:" in out and "over 2 episodes" in out
    code, _, err = run_cli(["compress", str(model), "--out", str(tmp_path / "c")], capsys)
    assert code != 0 and "not supported yet" in err
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())
