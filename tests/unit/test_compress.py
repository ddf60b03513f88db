"""Exporting policies as ONNX and distilling them, on hand-made policies (no RL training):
every activation and head against an independent torch forward, a linear CartPole controller
distilled into an MLP, and the errors a user gets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("onnxruntime", reason="the compress extra is not installed")

from autorl.compress.distill import DistillSettings, GraphModule, distill
from autorl.compress.graph import ACTIVATIONS, Activation, Dense, PolicyGraph, layers_of
from autorl.compress.onnx_policy import OnnxPolicy, run_episodes, write
from autorl.errors import ArtifactError, CompressionError
from autorl.types import TaskSpec

CARTPOLE = TaskSpec("CartPole-v1")
PENDULUM = TaskSpec("Pendulum-v1")


def dense(rng: np.random.Generator, n_in: int, n_out: int) -> Dense:
    return Dense(
        rng.normal(size=(n_out, n_in)).astype(np.float32),
        rng.normal(size=n_out).astype(np.float32),
    )


def random_graph(activation: Activation, head: str, seed: int = 0) -> PolicyGraph:
    """A 3 -> 8 -> 8 -> 2 MLP with normalisation, on a 3-dim observation."""
    rng = np.random.default_rng(seed)
    layers = (dense(rng, 3, 8), activation, dense(rng, 8, 8), activation, dense(rng, 8, 2))
    if head == "rescale":
        layers = (*layers, Activation("tanh"))
    box = head != "argmax"
    return PolicyGraph(
        obs_shape=(3,),
        layers=layers,
        head=head,
        action_shape=(2,) if box else (),
        action_low=np.array([-2.0, -0.5], np.float32) if box else None,
        action_high=np.array([2.0, 1.5], np.float32) if box else None,
        action_start=3 if not box else 0,
        obs_mean=np.array([0.5, -1.0, 2.0], np.float32),
        obs_std=np.array([2.0, 0.5, 1.0], np.float32),
        obs_clip=3.0,
    )


ALL_ACTIVATIONS = [
    Activation(name, alpha=0.3) if name in ("elu", "leaky_relu") else Activation(name)
    for name in ACTIVATIONS
]


@pytest.mark.parametrize("head", ["argmax", "clip", "rescale"])
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS, ids=lambda a: a.name)
def test_the_onnx_graph_computes_what_torch_computes(activation: Activation, head: str) -> None:
    graph = random_graph(activation, head)
    obs = np.random.default_rng(1).normal(scale=3.0, size=(256, 3)).astype(np.float32)
    expected = GraphModule(graph).act(obs)
    got = OnnxPolicy.from_graph(graph, CARTPOLE).act_batch(obs)
    if head == "argmax":
        assert got.dtype == np.int64 and (got == expected).all() and got.min() >= 3
    else:
        assert got.shape == (256, 2)
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert (got >= graph.action_low).all() and (got <= graph.action_high).all()


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_each_precision_writes_a_policy_that_loads_and_acts_alike(
    tmp_path: Path, precision: str
) -> None:
    rng = np.random.default_rng(0)
    wide = (dense(rng, 3, 64), Activation("tanh"), dense(rng, 64, 64), Activation("tanh"))
    graph = PolicyGraph(
        obs_shape=(3,),
        layers=(
            *wide,
            Dense(rng.normal(size=(2, 64)).astype(np.float32) * 0.1, np.zeros(2, np.float32)),
            Activation("tanh"),
        ),
        head="rescale",
        action_shape=(2,),
        action_low=np.array([-1.0, -1.0], np.float32),
        action_high=np.array([1.0, 1.0], np.float32),
    )
    path = write(graph, tmp_path / f"p.{precision}.onnx", PENDULUM, precision)
    fp32 = write(graph, tmp_path / "p.onnx", PENDULUM, "fp32")
    policy = OnnxPolicy.load(path)
    obs = rng.normal(size=(200, 3)).astype(np.float32)
    diff = np.abs(policy.act_batch(obs) - OnnxPolicy.load(fp32).act_batch(obs)).max()
    assert diff <= {"fp32": 0.0, "fp16": 0.01, "int8": 0.1}[precision]
    assert policy.meta["precision"] == precision and policy.task == PENDULUM
    size, base = path.stat().st_size, fp32.stat().st_size
    if precision == "fp16":
        assert size < 0.6 * base  # weights stored at half width
    if precision == "int8":
        assert size < 0.45 * base


def test_a_linear_controller_distilled_into_an_mlp_still_balances_the_pole() -> None:
    w = np.array([0.1, 0.5, 1.0, 0.5], np.float32)
    teacher = PolicyGraph(
        obs_shape=(4,), layers=(Dense(np.stack([-w, w]), np.zeros(2, np.float32)),), head="argmax"
    )
    assert np.mean(run_episodes(OnnxPolicy.from_graph(teacher, CARTPOLE), 3, 200_000)) == 500
    settings = DistillSettings(steps=2_000, rounds=1, updates=600, seed=0)
    student, info = distill(teacher, CARTPOLE, [8], settings)
    assert student.hidden_widths == (8,) and student.parameters == 4 * 8 + 8 + 8 * 2 + 2
    assert info["states"] == 4_000
    returns = run_episodes(OnnxPolicy.from_graph(student, CARTPOLE), 3, 200_000)
    assert np.mean(returns) >= 450, returns


def test_a_continuous_student_learns_its_teachers_squashed_actions() -> None:
    task = PENDULUM  # one action: a one-output teacher on its 3-dim observation
    rng = np.random.default_rng(2)
    teacher = PolicyGraph(
        obs_shape=(3,),
        layers=(dense(rng, 3, 16), Activation("relu"), dense(rng, 16, 1), Activation("tanh")),
        head="rescale",
        action_shape=(1,),
        action_low=np.array([-2.0], np.float32),
        action_high=np.array([2.0], np.float32),
    )
    student, _ = distill(teacher, task, [32], DistillSettings(steps=1_000, rounds=1, updates=800))
    obs = np.random.default_rng(3).uniform(-1, 1, size=(300, 3)).astype(np.float32)
    obs[:, 2] *= 8
    error = np.abs(GraphModule(student).act(obs) - GraphModule(teacher).act(obs)).mean()
    untrained = np.abs(GraphModule(teacher).act(obs)).mean()
    assert error < 0.25 * untrained, (error, untrained)


def test_a_layer_that_is_not_an_mlp_layer_is_refused_by_name() -> None:
    with pytest.raises(CompressionError, match="Dropout"):
        layers_of([nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1))])
    with pytest.raises(CompressionError, match="tanh approximation"):
        layers_of([nn.GELU(approximate="tanh")])
    assert [type(x).__name__ for x in layers_of([nn.Flatten(), nn.Linear(3, 4), nn.ELU()])] == [
        "Dense",
        "Activation",
    ]


def test_an_unreadable_or_foreign_onnx_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no ONNX policy"):
        OnnxPolicy.load(tmp_path / "none.onnx")
    (tmp_path / "bare.onnx").write_bytes(b"not onnx")
    with pytest.raises(ArtifactError, match=r"autorl\.json is missing"):
        OnnxPolicy.load(tmp_path / "bare.onnx")
    graph = random_graph(Activation("tanh"), "argmax")
    path = write(graph, tmp_path / "p.onnx", CARTPOLE)
    path.write_bytes(b"truncated")
    with pytest.raises(ArtifactError, match="not a loadable ONNX model"):
        OnnxPolicy.load(path)


def test_without_the_extra_the_error_says_which_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(CompressionError, match=r"autorl\[compress\]"):
        write(random_graph(Activation("tanh"), "argmax"), tmp_path / "p.onnx", CARTPOLE)


def test_graph_module_is_the_torch_twin_of_a_graph() -> None:
    graph = random_graph(Activation("silu"), "clip")
    module = GraphModule(graph)
    obs = torch.zeros(2, 3)
    assert module(obs).shape == (2, 2)
    assert sum(p.numel() for p in module.parameters()) == graph.parameters
