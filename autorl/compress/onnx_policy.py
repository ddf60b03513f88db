"""A ``PolicyGraph`` as an ONNX file, its fp16 and int8 variants, and running it with
onnxruntime: no torch, no Stable-Baselines3.

``write(graph, "policy.onnx", task, precision)`` writes the model and ``policy.autorl.json``
beside it (the task, so ``autorl evaluate policy.onnx`` knows its env). The graph's input
``obs`` is the env's raw observation, flattened (float32, batch x obs_dim): normalisation is
folded in. Its output ``action`` is int64 (batch) for a discrete action, float32 (batch x
action_dim) otherwise. Dense layers are ``MatMul`` + ``Add`` so that onnxruntime's dynamic
quantization turns them into integer matrix products (a CNN's observation is reshaped to
batch x C x H x W for its ``Conv`` layers, then flattened); ``fp16`` stores the weights as float16
and casts them back to float32 when the model loads (half the bytes on disk, the same
arithmetic).
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autorl.compress.graph import Activation, Conv, Dense, PolicyGraph
from autorl.errors import ArtifactError, CompressionError
from autorl.types import TaskSpec

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
OPSET = 17
FORMAT = "autorl-onnx-policy"
MISSING_EXTRA = "ONNX export needs the compress extra: pip install 'autorl[compress]'"


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise CompressionError(MISSING_EXTRA) from exc
    return onnx


def _runtime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise CompressionError(MISSING_EXTRA) from exc
    return onnxruntime


class _Builder:
    """Nodes and initializers of one graph, with fresh names."""

    def __init__(self, fp16: bool) -> None:
        self.onnx = _onnx()
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.fp16 = fp16
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, value: np.ndarray, weight: bool = False) -> str:
        """An initializer; a weight is stored as float16 and cast back under ``fp16``."""
        from onnx import TensorProto, helper, numpy_helper

        name = self.name("c")
        array = np.asarray(value)
        if weight and self.fp16:
            self.inits.append(numpy_helper.from_array(array.astype(np.float16), name + "_h"))
            self.nodes.append(helper.make_node("Cast", [name + "_h"], [name], to=TensorProto.FLOAT))
        else:
            self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def activation(self, x: str, act: Activation) -> str:
        f32 = np.float32
        if act.name == "tanh":
            return self.op("Tanh", [x])
        if act.name == "relu":
            return self.op("Relu", [x])
        if act.name == "elu":
            return self.op("Elu", [x], alpha=act.alpha)
        if act.name == "leaky_relu":
            return self.op("LeakyRelu", [x], alpha=act.alpha)
        if act.name == "silu":
            return self.op("Mul", [x, self.op("Sigmoid", [x])])
        if act.name == "hardtanh":
            return self.op("Clip", [x, self.const(f32(act.low)), self.const(f32(act.high))])
        if act.name == "gelu":  # x * (1 + erf(x / sqrt 2)) / 2, exact as torch's default
            erf = self.op("Erf", [self.op("Mul", [x, self.const(f32(1 / math.sqrt(2)))])])
            half = self.op("Mul", [x, self.const(f32(0.5))])
            return self.op("Mul", [half, self.op("Add", [erf, self.const(f32(1.0))])])
        raise CompressionError(f"activation {act.name!r} has no ONNX form here")


def to_onnx(graph: PolicyGraph, fp16: bool = False) -> Any:
    """The ONNX ``ModelProto`` of ``graph`` (float32 arithmetic; fp16-stored weights if asked)."""
    onnx = _onnx()
    from onnx import TensorProto, helper

    b = _Builder(fp16)
    x = "obs"
    if graph.obs_scale != 1.0:
        x = b.op("Mul", [x, b.const(np.float32(graph.obs_scale))])
    if graph.obs_mean is not None and graph.obs_std is not None:
        x = b.op("Div", [b.op("Sub", [x, b.const(graph.obs_mean)]), b.const(graph.obs_std)])
    if graph.obs_clip is not None:
        c = np.float32(graph.obs_clip)
        x = b.op("Clip", [x, b.const(-c), b.const(c)])
    spatial = False  # x is batch x C x H x W between convolutions, batch x features else
    for layer in graph.layers:
        if isinstance(layer, Conv):
            if not spatial:
                shape = np.asarray([-1, *graph.obs_shape], dtype=np.int64)
                x, spatial = b.op("Reshape", [x, b.const(shape)]), True
            w, bias = b.const(layer.weight, weight=True), b.const(layer.bias, weight=True)
            x = b.op("Conv", [x, w, bias], strides=list(layer.stride))
        elif isinstance(layer, Dense):
            if spatial:
                x, spatial = b.op("Flatten", [x], axis=1), False
            w = b.const(np.ascontiguousarray(layer.weight.T), weight=True)
            x = b.op("Add", [b.op("MatMul", [x, w]), b.const(layer.bias, weight=True)])
        else:
            x = b.activation(x, layer)
    if graph.head == "argmax":
        x = b.op("ArgMax", [x], axis=1, keepdims=0)
        if graph.action_start:
            x = b.op("Add", [x, b.const(np.int64(graph.action_start))])
        out_type, out_shape = TensorProto.INT64, ["batch"]
    else:
        low, high = graph.action_low, graph.action_high
        if low is None or high is None:
            raise CompressionError(f"a {graph.head!r} head needs the action bounds")
        if graph.head == "rescale":  # low + (x + 1) * (high - low) / 2
            x = b.op("Mul", [b.op("Add", [x, b.const(np.float32(1.0))]), b.const((high - low) / 2)])
            x = b.op("Add", [x, b.const(low)])
        x = b.op("Min", [b.op("Max", [x, b.const(low)]), b.const(high)])
        out_type, out_shape = TensorProto.FLOAT, ["batch", int(low.size)]
    b.nodes.append(helper.make_node("Identity", [x], ["action"]))
    model = helper.make_model(
        helper.make_graph(
            b.nodes,
            "autorl_policy",
            [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", graph.obs_dim])],
            [helper.make_tensor_value_info("action", out_type, out_shape)],
            b.inits,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="autorl",
    )
    onnx.checker.check_model(model)
    return model


def _no_preprocess_advice(record: logging.LogRecord) -> bool:
    """Drop onnxruntime's advice to pre-process (shape inference for large vision models)."""
    return "pre-processing before quantization" not in record.getMessage()


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + ".autorl.json")


def write(
    graph: PolicyGraph,
    path: str | Path,
    task: TaskSpec,
    precision: str = "fp32",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``graph`` as ONNX at ``precision`` (fp32, fp16 or int8) and its sidecar."""
    if precision not in PRECISIONS:
        raise CompressionError(f"precision {precision!r}: use {', '.join(PRECISIONS)}")
    onnx = _onnx()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = to_onnx(graph, fp16=precision == "fp16")
    if precision == "int8":
        _runtime()
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as tmp:
            plain = Path(tmp) / "fp32.onnx"
            onnx.save(model, plain)
            root = logging.getLogger()
            root.addFilter(_no_preprocess_advice)
            try:
                quantize_dynamic(plain, path, weight_type=QuantType.QInt8)
            finally:
                root.removeFilter(_no_preprocess_advice)
    else:
        onnx.save(model, path)
    meta = {
        "format": FORMAT,
        "precision": precision,
        "task": task.to_dict(),
        "obs_shape": list(graph.obs_shape),
        "frame_stack": graph.frame_stack,
        "action_shape": list(graph.action_shape),
        "discrete": graph.head == "argmax",
        "parameters": graph.parameters,
        "hidden_widths": list(graph.hidden_widths),
        "extra": dict(extra or {}),
    }
    sidecar_path(path).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return path


def _options(ort: Any) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return options


@dataclass
class OnnxPolicy:
    """An exported policy run by onnxruntime (one CPU thread): ``act(obs)`` is the action."""

    path: Path
    task: TaskSpec
    meta: dict[str, Any]
    session: Any

    @classmethod
    def load(cls, path: str | Path) -> OnnxPolicy:
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"no ONNX policy at {path}")
        side = sidecar_path(path)
        try:
            meta = json.loads(side.read_text())
            task = TaskSpec.from_dict(meta["task"])
        except FileNotFoundError:
            raise ArtifactError(
                f"{side} is missing: it records the task of {path}; export with autorl compress"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"{side} is not an autorl ONNX sidecar: {exc!r}") from exc
        if meta.get("format") != FORMAT:
            raise ArtifactError(
                f"{side} is not an autorl ONNX sidecar (format {meta.get('format')})"
            )
        ort = _runtime()
        try:
            session = ort.InferenceSession(str(path), _options(ort))
        except Exception as exc:
            raise ArtifactError(f"{path} is not a loadable ONNX model: {exc}") from exc
        return cls(path, task, meta, session)

    @classmethod
    def from_graph(cls, graph: PolicyGraph, task: TaskSpec) -> OnnxPolicy:
        """The fp32 export of ``graph``, in memory (to check it before anything is written)."""
        ort = _runtime()
        meta = {
            "discrete": graph.head == "argmax",
            "action_shape": list(graph.action_shape),
            "frame_stack": graph.frame_stack,
        }
        data = to_onnx(graph).SerializeToString()
        return cls(Path("<memory>"), task, meta, ort.InferenceSession(data, _options(ort)))

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a batch of raw observations (batch x obs_shape)."""
        flat = np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)
        return self.session.run(None, {"obs": flat})[0]

    def act(self, obs: Any) -> Any:
        """The action for one raw observation, shaped as the env's action space."""
        action = self.act_batch(np.asarray(obs, dtype=np.float32)[None])[0]
        if self.meta.get("discrete"):
            return int(action)
        return action.reshape(self.meta.get("action_shape") or action.shape)


def play(
    task: TaskSpec,
    act: Callable[[Any], Any] | None,
    episodes: int,
    seed: int,
    frame_stack: int = 1,
) -> tuple[float, ...]:
    """Undiscounted returns of ``episodes`` episodes of ``task`` played by ``act`` (None:
    uniformly random actions, the action space seeded with ``seed``) on the last
    ``frame_stack`` frames; episode i reset with ``seed + i``, as ``autorl.training.evaluate``
    does. Imports no torch."""
    from autorl.envs.gym_tasks import make_env
    from autorl.envs.images import stack_frames

    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    env = stack_frames(make_env(task), frame_stack)
    env.action_space.seed(seed)
    returns = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            total, done = 0.0, False
            while not done:
                action = env.action_space.sample() if act is None else act(obs)
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    finally:
        env.close()
    return tuple(returns)


def run_episodes(policy: OnnxPolicy, episodes: int, seed: int) -> tuple[float, ...]:
    """The returns of an exported policy on its task (``play``)."""
    return play(policy.task, policy.act, episodes, seed, int(policy.meta.get("frame_stack", 1)))
