"""Return against size from the command line: a real tiny CartPole search with
``--objectives return,params``, its front, and the smallest network within a tolerance."""

from __future__ import annotations

import json

import pytest
from optuna.trial import TrialState

from tests.integration.cli_helpers import TINY_RACING, ppo_configuration, run_cli, trials

pytestmark = pytest.mark.integration


def test_tune_for_return_and_size_then_list_the_front_and_train_the_smallest(
    tmp_path, sqlite_url, capsys
):
    queued = tmp_path / "queued.json"  # a linear policy and a small one, so the front has two
    base = ppo_configuration(normalize_obs=False, shared_trunk=False)
    sizes = [{"net_depth": 0, "net_width": 4}, {"net_depth": 1, "net_width": 16}]
    queued.write_text(json.dumps([{**base, **size} for size in sizes]))
    code, out, err = run_cli(
        [
            "tune",
            "CartPole-v1",
            "--study",
            "sized",
            "--trials",
            "3",
            "--objectives",
            "return,params",
            "--enqueue",
            str(queued),
            "--validation-seeds",
            "1",
            "--storage",
            sqlite_url,
            *TINY_RACING,
        ],
        capsys,
    )
    assert code == 0, err
    stored = trials(sqlite_url, "sized")
    done = [t for t in stored if t.state == TrialState.COMPLETE]
    assert len(done) == 3
    assert all(t.user_attrs["policy_params"] > 0 and t.user_attrs["latency_us"] > 0 for t in done)
    assert min(t.user_attrs["policy_params"] for t in done) == 10  # linear: 4 x 2 + 2

    code, out, err = run_cli(["best", "sized", "--pareto", "--storage", sqlite_url], capsys)
    assert code == 0, err
    assert "against params" in out and "random policy's" in out and "net_arch" in out
    code, out, _ = run_cli(
        ["best", "sized", "--pareto", "--format", "json", "--storage", sqlite_url], capsys
    )
    front = json.loads(out)
    assert front["objective"] == "params" and front["points"]
    sizes = [p["params"] for p in front["points"]]
    assert sizes == sorted(sizes) and front["points"][-1]["kept"] == pytest.approx(1.0)
    page = tmp_path / "sized.html"
    code, _, err = run_cli(["report", "sized", "--out", str(page), "--storage", sqlite_url], capsys)
    assert code == 0, err
    assert 'id="front"' in page.read_text() and "fig-front" in page.read_text()

    code, out, err = run_cli(
        [
            "train",
            "sized",
            "--smallest-within",
            "100%",  # anything above the random policy: the front's cheapest point
            "--out",
            str(tmp_path / "small.zip"),
            "--storage",
            sqlite_url,
        ],
        capsys,
    )
    assert code == 0, err
    assert f"smallest within 100%: trial {front['points'][0]['trial']}" in out
    assert (tmp_path / "small.zip").exists()
    assert "on test seeds [100000]" in out and "no choice used them" in out

    # a student with the architecture of the front's smallest point: the linear policy
    compress = f"compress {tmp_path / 'small.zip'} --out {tmp_path / 'c'} --distill-front sized"
    tiny = "--within 100% --episodes 2 --distill-steps 200 --distill-rounds 0"
    code, out, err = run_cli([*compress.split(), *tiny.split(), "--storage", sqlite_url], capsys)
    assert code == 0, err
    assert f"distilling into trial {front['points'][0]['trial']}'s actor: linear" in out
    assert "student-linear" in out


def test_size_search_input_errors_say_what_to_change(sqlite_url, capsys):
    code, _, err = run_cli(
        ["tune", "CartPole-v1", "--objectives", "return,size", "--storage", sqlite_url], capsys
    )
    assert code != 0 and "return,params or return,latency" in err
    code, _, err = run_cli(
        [
            "tune",
            "CartPole-v1",
            "--objectives",
            "return,params",
            "--pruner",
            "hyperband",
            "--storage",
            sqlite_url,
        ],
        capsys,
    )
    assert code != 0 and "--pruner median" in err
    code, out, _ = run_cli(["studies", "--storage", sqlite_url], capsys)
    assert "no studies" in out  # nothing was stored
