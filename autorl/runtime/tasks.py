"""Tasks in the registry: register a study's task (probing its features once) and link them."""

from __future__ import annotations

import logging

from autorl import db
from autorl.envs.features import probe_features
from autorl.study.config import StudyConfig
from autorl.types import StudyLink, TaskFeatures, TaskRecord, TaskSpec

log = logging.getLogger(__name__)


def needs_features(storage_url: str, spec: TaskSpec) -> bool:
    """Whether ``register`` would probe the task (it is new, or was never probed)."""
    record = db.get_task(storage_url, spec.key())
    return record is None or record.features is None


def register(storage_url: str, spec: TaskSpec, features: TaskFeatures | None = None) -> TaskRecord:
    """The stored task for ``spec`` (created, and probed, the first time: ``features``, if
    given, are what the probe found)."""
    record = db.register_task(storage_url, spec, spec.family)
    if record.features is None:
        features = features or probe_features(spec)
        db.set_features(storage_url, record.key, features)
        log.info(
            "probed task %s (%s): random return %.1f",
            record.key,
            spec.env_id,
            features.random_return_mean,
        )
        record = db.get_task(storage_url, record.key) or record
    return record


def register_study(
    storage_url: str, study_name: str, config: StudyConfig, features: TaskFeatures | None = None
) -> TaskRecord:
    """Register the study's task (``register``) and link the study to it (idempotent)."""
    record = register(storage_url, config.task, features)
    db.link_study(storage_url, StudyLink(study_name, record.key, config.algo, config.task.family))
    return record
