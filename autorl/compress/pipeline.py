"""``autorl compress``: a saved model exported, quantized and distilled, each variant checked
against the teacher and measured.

For every variant: parameters of the acting network, bytes on disk, latency per action (batch
1, one CPU thread, median of repeats), the return on the same evaluation episodes as the
teacher, and the fraction of the teacher's return kept, measured from random play: (return -
random) / (teacher - random), so that negative returns (Pendulum's) read the same way. The
exported fp32 graph must reproduce the SB3 policy's actions on the teacher's states and on
samples of the observation space, or nothing is written.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autorl.compress import onnx_policy
from autorl.compress.graph import PolicyGraph, from_sb3
from autorl.errors import CompressionError
from autorl.types import TaskSpec

log = logging.getLogger(__name__)

CHECK_STATES = 500  # teacher states (and as many space samples) the export is checked on
CHECK_SEED = 500_000
FP32_TOLERANCE = 1e-4  # of the action range; discrete: every sampled action equal


@dataclass
class Variant:
    """One row of the table."""

    name: str
    path: str
    parameters: int
    bytes: int
    latency_us: float
    mean_return: float
    std_return: float
    kept: float | None = None
    agreement: float | None = None  # with the teacher's actions on the teacher's states
    # (Box actions: 1 - the mean difference as a fraction of the action range)
    agreement_sampled: float | None = None  # ... on samples of the observation space
    extra: dict[str, Any] = field(default_factory=dict)


def latency_us(act: Callable[[Any], Any], obs: Any, calls: int = 300, repeats: int = 5) -> float:
    """Median over ``repeats`` of the mean time of one ``act(obs)`` call, in microseconds."""
    act(obs)
    means = []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(calls):
            act(obs)
        means.append((time.perf_counter() - began) / calls * 1e6)
    return round(statistics.median(means), 2)


def check_states(task: TaskSpec, space: Any, teacher: Callable, frame_stack: int = 1) -> np.ndarray:
    """Observations to compare actions on: the teacher's own states and space samples."""
    from autorl.compress.distill import collect_states

    visited = collect_states(task, teacher, CHECK_STATES, CHECK_SEED, frame_stack)
    low = np.where(np.isfinite(space.low), space.low, -3.0)
    high = np.where(np.isfinite(space.high), space.high, 3.0)
    rng = np.random.default_rng(CHECK_SEED)
    sampled = rng.uniform(low, high, size=(CHECK_STATES, *space.shape)).astype(np.float32)
    return np.concatenate([visited.reshape(-1, *space.shape), sampled])


def agreement(
    graph: PolicyGraph, expected: np.ndarray, got: np.ndarray, worst: bool = False
) -> float:
    """Discrete: the fraction of equal actions. Box: 1 - the mean (``worst``: the largest)
    difference as a fraction of the action range (1.0: identical)."""
    if graph.head == "argmax":
        return float(np.mean(expected.reshape(-1) == got.reshape(-1)))
    span = np.where(
        np.isfinite(graph.action_high - graph.action_low), graph.action_high - graph.action_low, 1
    )
    diff = np.abs(expected.reshape(len(got), -1) - got.reshape(len(got), -1)) / span
    return float(1.0 - (diff.max() if worst else diff.mean()))


def _kept(value: float, teacher: float, random: float) -> float | None:
    return None if teacher == random else round((value - random) / (teacher - random), 4)


def compress(
    model_path: str | Path,
    out: str | Path,
    distill_widths: Sequence[Sequence[int]] = (),
    precisions: Sequence[str] = ("fp32",),
    episodes: int = 20,
    seed: int = 200_000,
    distill_settings: Any = None,
) -> dict[str, Any]:
    """Export (and distill) the model at ``model_path`` into ``out``; the table as a dict
    (also written to ``out/compress.json``). Torch runs on one thread meanwhile, as
    onnxruntime does: latencies are per action on one core."""
    from autorl.compress.distill import one_thread

    with one_thread():
        return _compress(
            model_path, out, distill_widths, precisions, episodes, seed, distill_settings
        )


def _compress(
    model_path: str | Path,
    out: str | Path,
    distill_widths: Sequence[Sequence[int]],
    precisions: Sequence[str],
    episodes: int,
    seed: int,
    distill_settings: Any,
) -> dict[str, Any]:
    from autorl.compress.distill import DistillSettings, distill
    from autorl.training.artifacts import load_trained

    out = Path(out)
    loaded = load_trained(model_path)
    model, norm = loaded.model, loaded.norm
    graph = from_sb3(model, norm, loaded.config.env.frame_stack)
    task = loaded.task
    space = model.observation_space

    def sb3_act(obs: np.ndarray) -> np.ndarray:
        batch = norm.normalize_obs(obs) if norm is not None and norm.norm_obs else obs
        return model.predict(batch, deterministic=True)[0]

    states = check_states(task, space, sb3_act, graph.frame_stack)
    expected = sb3_act(states)
    exported = onnx_policy.OnnxPolicy.from_graph(graph, task)
    agree = agreement(graph, expected, exported.act_batch(states), worst=True)
    if agree < 1 - FP32_TOLERANCE:
        raise CompressionError(
            f"the exported graph's actions differ from the SB3 policy's (agreement {agree:.6f} "
            f"on {len(states)} observations): please report this model's algorithm and policy "
            "settings; nothing was written"
        )
    teacher_eval = loaded.evaluate(episodes, seed)
    random = float(np.mean(onnx_policy.play(task, None, episodes, seed, graph.frame_stack)))
    obs = states[0]
    rows = [
        Variant(
            name="teacher (SB3)",
            path=str(loaded.path),
            parameters=graph.parameters,
            bytes=Path(loaded.path).stat().st_size,
            latency_us=latency_us(lambda o: sb3_act(o[None]), obs),
            mean_return=teacher_eval.mean,
            std_return=teacher_eval.std,
            kept=1.0,
            agreement=1.0,
            agreement_sampled=1.0,
        )
    ]
    graphs: list[tuple[str, PolicyGraph, dict[str, Any]]] = [("teacher", graph, {})]
    for widths in distill_widths:
        began = time.perf_counter()
        student, info = distill(graph, task, widths, distill_settings or DistillSettings())
        info["seconds"] = round(time.perf_counter() - began, 1)
        name = "student-" + ("x".join(str(w) for w in widths) or "linear")
        graphs.append((name, student, info))
    for name, g, info in graphs:
        for precision in precisions:
            path = out / (f"{name}.onnx" if precision == "fp32" else f"{name}.{precision}.onnx")
            onnx_policy.write(g, path, task, precision, extra={"teacher": str(loaded.path), **info})
            policy = onnx_policy.OnnxPolicy.load(path)
            actions = policy.act_batch(states)
            visited = slice(0, CHECK_STATES)
            sampled = slice(CHECK_STATES, None)
            returns = onnx_policy.run_episodes(policy, episodes, seed)
            mean = float(np.mean(returns))
            rows.append(
                Variant(
                    name=f"{name} ONNX {precision}",
                    path=str(path),
                    parameters=g.parameters,
                    bytes=path.stat().st_size,
                    latency_us=latency_us(policy.act, obs),
                    mean_return=mean,
                    std_return=float(np.std(returns)),
                    kept=_kept(mean, teacher_eval.mean, random),
                    agreement=round(agreement(g, expected[visited], actions[visited]), 6),
                    agreement_sampled=round(agreement(g, expected[sampled], actions[sampled]), 6),
                    extra=info,
                )
            )
            log.info("%s: %s", rows[-1].name, rows[-1])
    report = {
        "model": str(loaded.path),
        "env_id": task.env_id,
        "episodes": {"count": episodes, "seeds": f"{seed}..{seed + episodes - 1}"},
        "random_return": random,
        "check": {"states": len(states), "teacher_states_seed": CHECK_SEED},
        "latency": "batch 1, one CPU thread, median of 5 repeats of 300 calls",
        "variants": [asdict(r) for r in rows],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "compress.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
