"""Compressing real SB3 models (tiny budgets): every algorithm's exported policy acts as the
SB3 policy does, ``autorl compress`` writes and measures each variant, and an exported policy
is evaluated by ``autorl evaluate`` without torch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the compress extra is not installed")

from autorl.cli import main
from autorl.compress.graph import from_sb3
from autorl.compress.onnx_policy import OnnxPolicy
from autorl.compress.pipeline import agreement
from autorl.training.artifacts import load_trained, save_trained
from autorl.training.trainer import train_model
from autorl.types import EnvSettings, EvalSettings, TaskSpec, TrainConfig, TrainSpec
from tests.fixtures.processes import run_script

pytestmark = pytest.mark.integration

OFF_POLICY = {"learning_starts": 50, "buffer_size": 500, "batch_size": 16}
CASES: dict[str, tuple[str, str, dict[str, Any], EnvSettings]] = {
    "ppo-discrete-normalized": (
        "ppo",
        "CartPole-v1",
        {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}},
        EnvSettings(n_envs=2, normalize_obs=True),
    ),
    "ppo-box-shared-trunk-elu": (
        "ppo",
        "Pendulum-v1",
        {
            "n_steps": 64,
            "batch_size": 32,
            "n_epochs": 2,
            "policy_kwargs": {"shared_trunk": [16], "net_arch": [8], "activation_fn": "elu"},
        },
        EnvSettings(),
    ),
    "a2c-gelu-gsde": (
        "a2c",
        "Pendulum-v1",
        {
            "n_steps": 8,
            "use_sde": True,
            "policy_kwargs": {"net_arch": [16], "activation_fn": "gelu"},
        },
        EnvSettings(normalize_obs=True),
    ),
    "sac-gsde": (
        "sac",
        "Pendulum-v1",
        {**OFF_POLICY, "use_sde": True, "policy_kwargs": {"net_arch": [16]}},
        EnvSettings(),
    ),
    "td3": (
        "td3",
        "Pendulum-v1",
        {**OFF_POLICY, "policy_kwargs": {"net_arch": [16]}},
        EnvSettings(),
    ),
    "dqn-leaky": (
        "dqn",
        "CartPole-v1",
        {**OFF_POLICY, "policy_kwargs": {"net_arch": [16, 16], "activation_fn": "leaky_relu"}},
        EnvSettings(),
    ),
}
try:  # a CNN on MinAtar's 10x10 frames, where the minatar extra is installed
    import minatar  # noqa: F401
except ImportError:
    pass
else:
    CNN = {"cnn": {"layers": [[8, 3, 1], [8, 3, 2]], "features_dim": 32}, "net_arch": [16]}
    CASES["ppo-cnn-pixels"] = (
        "ppo",
        "MinAtar/Breakout-v1",
        {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "policy_kwargs": CNN},
        EnvSettings(),
    )
    CASES["dqn-cnn-pixels"] = (
        "dqn",
        "MinAtar/Breakout-v1",
        {**OFF_POLICY, "policy_kwargs": CNN},
        EnvSettings(),
    )


@pytest.fixture(autouse=True)
def one_torch_thread() -> Any:
    """Tiny networks on one thread: two threads on a busy 2-core machine are many times slower."""
    from autorl.compress.distill import one_thread

    with one_thread():
        yield


def saved_model(tmp_path: Path, case: str, timesteps: int = 300) -> Path:
    algo, env_id, sb3_kwargs, settings = CASES[case]
    spec = TrainSpec(
        task=TaskSpec(env_id),
        config=TrainConfig(algo, "MlpPolicy", sb3_kwargs, settings),
        timesteps=timesteps,
        seed=0,
        evaluation=EvalSettings(n_evaluations=1),
    )
    model, venv = train_model(spec)
    try:
        save_trained(model, venv, tmp_path / case / "model.zip", spec.task, spec.config)
    finally:
        venv.close()
    return tmp_path / case / "model.zip"


@pytest.mark.parametrize("case", list(CASES))
def test_the_exported_policy_acts_as_the_sb3_policy(tmp_path: Path, case: str) -> None:
    loaded = load_trained(saved_model(tmp_path, case))
    graph = from_sb3(loaded.model, loaded.norm)
    space = loaded.model.observation_space
    rng = np.random.default_rng(0)
    low = np.where(np.isfinite(space.low), space.low, -5)
    high = np.where(np.isfinite(space.high), space.high, 5)
    obs = rng.uniform(low, high, size=(400, *space.shape)).astype(np.float32)
    sb3_input = loaded.norm.normalize_obs(obs) if loaded.norm is not None else obs
    expected = loaded.model.predict(sb3_input, deterministic=True)[0]
    got = OnnxPolicy.from_graph(graph, loaded.task).act_batch(obs)
    assert agreement(graph, expected, got, worst=True) >= 1 - 1e-5


def test_compress_writes_measures_and_evaluates_every_variant(tmp_path: Path, capsys) -> None:
    model = saved_model(tmp_path, "ppo-discrete-normalized", timesteps=512)
    out = tmp_path / "compressed"
    argv = ["compress", str(model), "--out", str(out), "--onnx", "--quantize", "int8"]
    argv += ["--distill", "8", "--distill", "linear", "--episodes", "3"]
    argv += ["--distill-steps", "500", "--distill-rounds", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "teacher ONNX int8" in printed and "seeds 200000..200002" in printed
    report = json.loads((out / "compress.json").read_text())
    names = [v["name"] for v in report["variants"]]
    assert names == [
        "teacher (SB3)",
        "teacher ONNX fp32",
        "teacher ONNX int8",
        "student-8 ONNX fp32",
        "student-8 ONNX int8",
        "student-linear ONNX fp32",
        "student-linear ONNX int8",
    ]
    rows = {v["name"]: v for v in report["variants"]}
    teacher, exported = rows["teacher (SB3)"], rows["teacher ONNX fp32"]
    assert exported["mean_return"] == teacher["mean_return"] and exported["agreement"] == 1.0
    assert rows["student-linear ONNX fp32"]["parameters"] == 4 * 2 + 2
    assert exported["bytes"] < teacher["bytes"] / 5  # no critic, no optimiser state
    for v in report["variants"][1:]:
        assert Path(v["path"]).is_file() and v["latency_us"] > 0 and v["kept"] is not None

    script = (
        "import sys; from autorl.cli import main\n"
        "assert main(['evaluate', sys.argv[1], '--episodes', '3']) == 0\n"
        "assert 'torch' not in sys.modules, 'evaluating an ONNX policy imported torch'\n"
    )
    line = run_script(script, str(out / "teacher.onnx"), cwd=tmp_path)
    assert line.startswith(f"CartPole-v1: {teacher['mean_return']:.2f}")


def test_compress_refuses_what_it_cannot_do_and_writes_nothing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["compress", str(tmp_path / "none.zip"), "--out", str(out)]) == 2
    assert "no model file" in capsys.readouterr().err
    model = saved_model(tmp_path, "td3")
    assert main(["compress", str(model), "--out", str(out), "--episodes", "0"]) == 2
    assert "--episodes 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compress", str(model), "--out", str(out), "--distill", "16,x"])
    assert "hidden widths" in capsys.readouterr().err
    assert not out.exists()
    assert main(["evaluate", str(out / "x.onnx"), "--stochastic"]) == 2


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_search_counts_the_parameters_the_exported_policy_holds(case: str) -> None:
    """``autorl.training.cost`` (what a size search measures before training) and the
    exported graph agree on every algorithm: critics, log-std heads and gSDE matrices left out."""
    from autorl.training.cost import policy_cost
    from autorl.training.envs import make_vec_env
    from autorl.training.models import build_model

    algo, env_id, sb3_kwargs, settings = CASES[case]
    config = TrainConfig(algo, "MlpPolicy", sb3_kwargs, settings)
    cost = policy_cost(TaskSpec(env_id), config)
    venv = make_vec_env(TaskSpec(env_id), settings, seed=0)
    try:
        graph = from_sb3(build_model(config, venv, seed=0))
    finally:
        venv.close()
    assert cost.params == graph.parameters
    assert 0 < cost.latency_us < 1e6 and cost.device == "cpu"
