"""Distillation: a smaller network trained, by supervised learning, to act as the teacher.

The teacher is a ``PolicyGraph`` (normalisation folded in), so any exported policy can teach.
States come from the teacher's own episodes and then, for ``rounds`` more rounds, from the
student's (DAgger, Ross et al. 2011: labelled by the teacher, so the student learns what to do
in the states its own mistakes lead to, which the teacher never visits). Labels are the
teacher's deterministic actions: the argmax for a discrete action (cross-entropy), the clipped
action for PPO's Box head, the squashed output for SAC's and TD3's (mean squared error). The
student keeps the teacher's normalisation, head and activations; ``widths`` are its hidden
layers (empty: a linear policy).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from autorl.compress.graph import Activation, Conv, Dense, PolicyGraph, layers_of
from autorl.envs.gym_tasks import make_env
from autorl.envs.images import stack_frames
from autorl.types import TaskSpec

log = logging.getLogger(__name__)

DISTILL_SEED = 400_000  # episode seeds of the states distillation trains on
_TORCH_ACTIVATIONS: dict[str, Callable[[Activation], nn.Module]] = {
    "tanh": lambda a: nn.Tanh(),
    "relu": lambda a: nn.ReLU(),
    "silu": lambda a: nn.SiLU(),
    "gelu": lambda a: nn.GELU(),
    "elu": lambda a: nn.ELU(alpha=a.alpha),
    "leaky_relu": lambda a: nn.LeakyReLU(negative_slope=a.alpha),
    "hardtanh": lambda a: nn.Hardtanh(a.low, a.high),
}


@dataclass(frozen=True)
class DistillSettings:
    """``steps``: states collected per round; ``rounds``: DAgger rounds after the teacher's;
    ``updates``: gradient steps per round (batch ``batch_size``, Adam at ``learning_rate``)."""

    steps: int = 10_000
    rounds: int = 2
    updates: int = 2_000
    batch_size: int = 256
    learning_rate: float = 3e-3
    seed: int = 0


class GraphModule(nn.Module):
    """A ``PolicyGraph`` in torch: raw observation in, the head's input out."""

    def __init__(self, graph: PolicyGraph, body: nn.Sequential | None = None) -> None:
        super().__init__()
        self.graph = graph
        dim = graph.obs_dim
        mean = graph.obs_mean if graph.obs_mean is not None else np.zeros(dim, np.float32)
        std = graph.obs_std if graph.obs_std is not None else np.ones(dim, np.float32)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.body = body if body is not None else _body_of(graph)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.reshape(len(obs), -1) * self.graph.obs_scale
        x = (x - self.mean) / self.std
        if self.graph.obs_clip is not None:
            x = x.clamp(-self.graph.obs_clip, self.graph.obs_clip)
        return self.body(x)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Env actions for a batch of raw observations (the graph's head applied)."""
        with torch.no_grad():
            out = self(torch.as_tensor(obs, dtype=torch.float32)).numpy()
        return head_actions(self.graph, out)


def _body_of(graph: PolicyGraph) -> nn.Sequential:
    modules: list[nn.Module] = []
    spatial = False
    for layer in graph.layers:
        if isinstance(layer, Conv):
            if not spatial:
                modules.append(nn.Unflatten(1, graph.obs_shape))
                spatial = True
            out, channels, kh, kw = layer.weight.shape
            conv = nn.Conv2d(channels, out, (kh, kw), stride=layer.stride)
            with torch.no_grad():
                conv.weight.copy_(torch.as_tensor(layer.weight))
                conv.bias.copy_(torch.as_tensor(layer.bias))
            modules.append(conv)
            continue
        if isinstance(layer, Dense) and spatial:
            modules.append(nn.Flatten())
            spatial = False
        if isinstance(layer, Dense):
            linear = nn.Linear(layer.weight.shape[1], layer.weight.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.as_tensor(layer.weight))
                linear.bias.copy_(torch.as_tensor(layer.bias))
            modules.append(linear)
        else:
            modules.append(_TORCH_ACTIVATIONS[layer.name](layer))
    return nn.Sequential(*modules)


def head_actions(graph: PolicyGraph, out: np.ndarray) -> np.ndarray:
    """The head of ``graph`` applied to its last layer's outputs (batch first)."""
    if graph.head == "argmax":
        return out.argmax(axis=1) + graph.action_start
    low, high = graph.action_low, graph.action_high
    if graph.head == "rescale":
        out = low + (out + 1.0) * (high - low) / 2.0
    return np.clip(out, low, high)


def student_body(teacher: PolicyGraph, widths: Sequence[int]) -> nn.Sequential:
    """An untrained student network: ``widths`` hidden layers with the teacher's activation
    (tanh for a linear teacher), its output size and output activation (initialised as
    torch's ``nn.Linear``); the teacher's normalisation and head go around it."""
    act = teacher.hidden_activation or Activation("tanh")
    dims = [teacher.obs_dim, *[int(w) for w in widths], teacher.out_dim]
    modules: list[nn.Module] = []
    for i in range(len(dims) - 1):
        modules.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            modules.append(_TORCH_ACTIVATIONS[act.name](act))
    if teacher.output_activation is not None:
        out_act = teacher.output_activation
        modules.append(_TORCH_ACTIVATIONS[out_act.name](out_act))
    return nn.Sequential(*modules)


def collect_states(
    task: TaskSpec,
    act: Callable[[np.ndarray], np.ndarray],
    steps: int,
    seed: int,
    frame_stack: int = 1,
) -> np.ndarray:
    """Raw observations of episodes played by ``act`` (episode i seeded ``seed + i``), the
    last ``frame_stack`` frames joined as the policy saw them in training."""
    env = stack_frames(make_env(task), frame_stack)
    states: list[np.ndarray] = []
    episode = 0
    try:
        while len(states) < steps:
            obs, _ = env.reset(seed=seed + episode)
            done = False
            while not done and len(states) < steps:
                states.append(np.asarray(obs, dtype=np.float32))
                action = act(states[-1][None])[0]
                obs, _, terminated, truncated, _ = env.step(
                    int(action) if np.ndim(action) == 0 else action.reshape(env.action_space.shape)
                )
                done = terminated or truncated
            episode += 1
    finally:
        env.close()
    return np.stack(states)


def _targets(teacher: GraphModule, states: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        out = teacher(torch.as_tensor(states))
    graph = teacher.graph
    if graph.head == "argmax":
        return out.argmax(dim=1)
    if graph.head == "clip":
        low = torch.as_tensor(graph.action_low)
        high = torch.as_tensor(graph.action_high)
        return torch.maximum(torch.minimum(out, high), low)
    return out  # rescale: the squashed output, before the bounds


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread meanwhile: networks this small gain nothing from more, and on a
    busy machine two threads made distillation 13x slower (16.7 s against 1.3 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def distill(
    teacher: PolicyGraph,
    task: TaskSpec,
    widths: Sequence[int],
    settings: DistillSettings = DistillSettings(),
) -> tuple[PolicyGraph, dict[str, Any]]:
    """A student of ``widths`` trained to act as ``teacher`` on ``task``; and what it took."""
    with one_thread():
        return _distill(teacher, task, widths, settings)


def _distill(
    teacher: PolicyGraph, task: TaskSpec, widths: Sequence[int], settings: DistillSettings
) -> tuple[PolicyGraph, dict[str, Any]]:
    torch.manual_seed(settings.seed)
    teacher_net = GraphModule(teacher)
    student = GraphModule(teacher, body=student_body(teacher, widths))
    optimiser = torch.optim.Adam(student.parameters(), lr=settings.learning_rate)
    discrete = teacher.head == "argmax"
    loss_fn: nn.Module = nn.CrossEntropyLoss() if discrete else nn.MSELoss()
    rng = np.random.default_rng(settings.seed)
    states = np.empty((0, teacher.obs_dim), np.float32)
    losses = []
    for round_ in range(settings.rounds + 1):
        actor = teacher_net.act if round_ == 0 else student.act
        seed = DISTILL_SEED + 10_000 * round_ + settings.seed * 1_000
        new = collect_states(task, actor, settings.steps, seed, teacher.frame_stack)
        new = new.reshape(-1, teacher.obs_dim)
        states = np.concatenate([states, new])
        targets = _targets(teacher_net, states)
        inputs = torch.as_tensor(states)
        for _ in range(settings.updates):
            batch = torch.as_tensor(rng.integers(0, len(states), settings.batch_size))
            loss = loss_fn(student(inputs[batch]), targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        losses.append(float(loss.detach()))
        log.info("distillation round %d: %d states, loss %.5f", round_, len(states), losses[-1])
    graph = replace(
        teacher, layers=tuple(layers_of([student.body])), meta={"distilled_from": teacher.meta}
    )
    return graph, {"states": len(states), "rounds": settings.rounds, "final_loss": losses[-1]}
