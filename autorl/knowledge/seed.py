"""The shipped seed knowledge base: history a fresh install already learns from.

Files in ``settings.seed_kb_dir()`` (knowledge-base JSON lines, see ``autorl.knowledge.kb``) are
read as past tasks, beside what the storage holds; nothing is written to the storage. A task
(at a training budget) that the storage also holds is taken from the storage only.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from autorl import settings
from autorl.knowledge.history import past_trial, task_group
from autorl.knowledge.kb import KnowledgeBaseError, frozen_trial, read_kb
from autorl.meta import PastTask, PastTrial
from autorl.study import attrs
from autorl.types import TaskFeatures

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _read(path: Path, mtime: float) -> tuple[dict, ...]:
    return tuple(read_kb(path))


def seed_tasks(algo: str) -> list[PastTask]:
    """Past tasks of ``algo`` from the seed knowledge-base files (none if there are none)."""
    folder = settings.seed_kb_dir()
    if folder is None or not folder.is_dir():
        return []
    tasks: dict[str, PastTask] = {}
    for path in sorted(folder.glob("*.jsonl")):
        try:
            lines = _read(path, path.stat().st_mtime)
        except KnowledgeBaseError as exc:
            log.warning("seed knowledge base %s skipped: %s", path, exc)
            continue
        features = {
            line["key"]: (line.get("families") or [], line.get("features"))
            for line in lines
            if line["kind"] == "task"
        }
        studies = {
            line["name"]: line for line in lines if line["kind"] == "study" and line["algo"] == algo
        }
        trials: dict[str, list[PastTrial]] = {}
        for line in lines:
            if line["kind"] != "trial" or line["study"] not in studies:
                continue
            evidence = past_trial(frozen_trial(line), line["study"])
            if evidence is not None:
                trials.setdefault(line["study"], []).append(evidence)
        for name, study in studies.items():
            timesteps = study["user_attrs"].get(attrs.STUDY_CONFIG, {}).get("timesteps")
            families, feats = features.get(study["task_key"], ([], None))
            group = task_group(study["task_key"], int(timesteps or 0))
            known = tasks.get(group)
            found = tuple(trials.get(name, []))
            parsed = TaskFeatures.from_dict(feats) if feats else None
            tasks[group] = PastTask(
                key=group,
                trials=(known.trials if known else ()) + found,
                families=tuple(families),
                features=parsed,
                threshold=parsed.reward_threshold if parsed else None,
                name=f"seed {name}",
            )
    return list(tasks.values())
