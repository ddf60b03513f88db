"""Saving and loading trained models with everything needed to evaluate them again.

``save_trained(..., "runs/best/model.zip")`` writes three files side by side:

- ``model.zip``: the Stable-Baselines3 model;
- ``model.vecnormalize.pkl``: the VecNormalize statistics, when training used them;
- ``model.autorl.json``: algorithm, task, configuration and caller-supplied extras.

``load_trained`` reads them back so ``evaluate`` reproduces the training-time score. The
statistics file is a pickle (as SB3's own): load only files you trust.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_normalize

from autorl.errors import ArtifactError
from autorl.training.evaluate import evaluate
from autorl.training.models import ALGORITHMS
from autorl.types import Evaluation, TaskSpec, TrainConfig

FORMAT_VERSION = 1


def artifact_paths(path: str | Path) -> tuple[Path, Path, Path]:
    """``(model.zip, <stem>.vecnormalize.pkl, <stem>.autorl.json)`` for a model path."""
    zip_path = Path(path)
    if zip_path.suffix != ".zip":
        zip_path = zip_path.with_name(zip_path.name + ".zip")
    stem = zip_path.with_suffix("")
    return (
        zip_path,
        stem.with_name(stem.name + ".vecnormalize.pkl"),
        stem.with_name(stem.name + ".autorl.json"),
    )


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("autorl", "stable-baselines3", "gymnasium", "torch"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def save_trained(
    model: BaseAlgorithm,
    venv: VecEnv | None,
    path: str | Path,
    task: TaskSpec,
    config: TrainConfig,
    extra: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the model, its VecNormalize statistics (if any) and the sidecar; return the paths."""
    zip_path, norm_path, meta_path = artifact_paths(path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(zip_path)
    written = [zip_path]
    norm = unwrap_vec_normalize(venv) if venv is not None else None
    if norm is not None:
        norm.save(str(norm_path))
        written.append(norm_path)
    meta = {
        "format": FORMAT_VERSION,
        "algo": config.algo,
        "num_timesteps": int(model.num_timesteps),
        "task": task.to_dict(),
        "config": config.to_dict(),
        "vecnormalize": norm_path.name if norm is not None else None,
        "extra": dict(extra or {}),
        "versions": _versions(),
    }
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    written.append(meta_path)
    return written


@dataclass
class LoadedModel:
    """A model read back by ``load_trained``; ``norm`` is the training VecNormalize (or None)."""

    model: BaseAlgorithm
    task: TaskSpec
    config: TrainConfig
    path: Path
    norm: VecNormalize | None = None
    norm_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def evaluate(self, episodes: int, seed: int, deterministic: bool = True) -> Evaluation:
        """Score the model on its own task with its own normalisation statistics."""
        return evaluate(
            self.model,
            self.task,
            self.config.env,
            episodes,
            seed,
            norm_source=self.norm,
            deterministic=deterministic,
        )


def _read_meta(meta_path: Path, zip_path: Path) -> dict[str, Any]:
    if not meta_path.is_file():
        raise ArtifactError(
            f"{meta_path} is missing: it records the algorithm, task and configuration of "
            f"{zip_path}. Save models with autorl (save_trained) to get it."
        )
    try:
        meta = json.loads(meta_path.read_text())
        meta["task"] = TaskSpec.from_dict(meta["task"])
        meta["config"] = TrainConfig.from_dict(meta["config"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{meta_path} is not a valid autorl sidecar: {exc!r}") from exc
    return meta


def _read_norm(norm_path: Path, zip_path: Path) -> VecNormalize:
    if not norm_path.is_file():
        raise ArtifactError(
            f"{norm_path} is missing: {zip_path} was trained with VecNormalize and cannot be "
            "evaluated without its normalisation statistics"
        )
    try:
        with norm_path.open("rb") as handle:
            norm = pickle.load(handle)
    except Exception as exc:
        raise ArtifactError(f"{norm_path} cannot be read: {exc!r}") from exc
    if not isinstance(norm, VecNormalize):
        raise ArtifactError(f"{norm_path} holds a {type(norm).__name__}, not VecNormalize")
    return norm


def _is_sb3_zip(zip_path: Path) -> bool:
    if not zipfile.is_zipfile(zip_path):
        return False
    with zipfile.ZipFile(zip_path) as archive:
        return "data" in archive.namelist()


def load_trained(path: str | Path, device: str = "cpu") -> LoadedModel:
    """Load a model saved by ``save_trained`` with its task, configuration and statistics."""
    zip_path, _, meta_path = artifact_paths(path)
    if not zip_path.is_file():
        raise ArtifactError(f"no model file at {zip_path}")
    meta = _read_meta(meta_path, zip_path)
    norm_path = zip_path.parent / meta["vecnormalize"] if meta.get("vecnormalize") else None
    norm = _read_norm(norm_path, zip_path) if norm_path is not None else None
    if not _is_sb3_zip(zip_path):
        raise ArtifactError(f"{zip_path} is not a Stable-Baselines3 model (no 'data' entry)")
    algo = meta.get("algo", meta["config"].algo)
    algorithm = ALGORITHMS.get(algo)
    if algorithm is None:
        raise ArtifactError(
            f"{meta_path} names algorithm '{algo}'; known: {', '.join(sorted(ALGORITHMS))}"
        )
    try:
        model = algorithm.load(zip_path, device=device)
    except Exception as exc:
        raise ArtifactError(f"{zip_path} could not be loaded as a {algo} model: {exc!r}") from exc
    return LoadedModel(
        model=model,
        task=meta["task"],
        config=meta["config"],
        path=zip_path,
        norm=norm,
        norm_path=norm_path,
        extra=dict(meta.get("extra") or {}),
    )
