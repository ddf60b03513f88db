"""Knowledge-base files: tasks, features, studies and trials as JSON lines, to share history.

```
{"kind": "header", "format": "autorl-kb", "version": 1, ...}
{"kind": "task", "key": ..., "spec": {...}, "families": [...], "features": {...}}
{"kind": "study", "name": ..., "task_key": ..., "algo": ..., "family": ..., "user_attrs": {...}}
{"kind": "trial", "study": ..., "number": ..., "state": "COMPLETE", "value": ..., ...}
{"kind": "end", "counts": {"task": n, "study": n, "trial": n}}
```
The whole file is read and checked before anything is written: a truncated file (no ``end``
line, or counts that do not match) or one of a newer format is refused and nothing stored
changes. Importing is idempotent: a trial is identified by a fingerprint of its parameters,
value, state and start time (kept as ``kb_origin`` on imported trials), and a trial already
in the study (imported before, or the very trial the file was exported from) is not added.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import distribution_to_json, json_to_distribution
from optuna.trial import FrozenTrial, TrialState

from autorl.errors import AutoRLError
from autorl.study import attrs
from autorl.study.bulk import add_finished_trials
from autorl.study.config import StudyConfig, mismatches
from autorl.study.storage import open_storage
from autorl.types import StudyLink, TaskFeatures, TaskSpec, disallowed_import

log = logging.getLogger(__name__)

FORMAT = "autorl-kb"
VERSION = 1
ORIGIN_ATTR = attrs.KB_ORIGIN
EXPORTED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class KnowledgeBaseError(AutoRLError):
    """A knowledge-base file cannot be imported as it is."""


@dataclass(frozen=True)
class ImportCounts:
    tasks: int
    studies_created: int
    trials_added: int
    trials_skipped: int


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def fingerprint(trial: FrozenTrial) -> str:
    """What identifies a trial across storages (imported trials keep their source's)."""
    kept = trial.user_attrs.get(ORIGIN_ATTR)
    if kept:
        return str(kept)
    text = json.dumps(
        [trial.params, trial.value, trial.state.name, _time(trial.datetime_start)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def _trial_line(study: str, trial: FrozenTrial) -> dict[str, Any]:
    return {
        "kind": "trial",
        "fingerprint": fingerprint(trial),
        "study": study,
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "params": trial.params,
        "distributions": {k: distribution_to_json(d) for k, d in trial.distributions.items()},
        "user_attrs": trial.user_attrs,
        "intermediate_values": {str(k): v for k, v in trial.intermediate_values.items()},
        "datetime_start": _time(trial.datetime_start),
        "datetime_complete": _time(trial.datetime_complete),
    }


def _export_lines(
    storage_url: str, family: str | None, exclude: frozenset[str] = frozenset()
) -> Iterator[dict[str, Any]]:
    from autorl import db

    storage = open_storage(storage_url)
    yield {
        "kind": "header",
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _time(dt.datetime.now(dt.UTC)),
    }
    counts: Counter[str] = Counter()
    records = [r for r in db.list_tasks(storage_url, family=family) if r.key not in exclude]
    for record in records:
        counts["task"] += 1
        yield {
            "kind": "task",
            "key": record.key,
            "spec": record.spec.to_dict(),
            "families": list(record.families),
            "features": record.features.to_dict() if record.features else None,
        }
    keys = {r.key for r in records}
    for link in db.study_links(storage_url):
        if link.task_key not in keys or (family and link.family not in (family, None)):
            continue
        try:
            study = optuna.load_study(study_name=link.study_name, storage=storage)
        except KeyError:
            continue
        counts["study"] += 1
        yield {
            "kind": "study",
            "name": link.study_name,
            "task_key": link.task_key,
            "algo": link.algo,
            "family": link.family,
            "user_attrs": study.user_attrs,
        }
        for trial in study.get_trials(deepcopy=False, states=EXPORTED_STATES):
            counts["trial"] += 1
            yield _trial_line(link.study_name, trial)
    yield {"kind": "end", "counts": dict(counts)}


def export_kb(
    storage_url: str,
    path: Path,
    family: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> dict[str, int]:
    """Write the storage's tasks, studies and finished trials (of one family, if given;
    without the tasks whose keys are in ``exclude``)."""
    lines = list(_export_lines(storage_url, family, exclude))
    tmp = Path(path).with_suffix(Path(path).suffix + ".part")
    tmp.write_text("".join(json.dumps(line, sort_keys=True, default=str) + "\n" for line in lines))
    tmp.replace(path)
    return lines[-1]["counts"]


def read_kb(path: Path) -> list[dict[str, Any]]:
    """The file's lines, checked: format, version, completeness."""
    try:
        texts = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path}: cannot read: {exc}") from None
    lines = []
    for number, text in enumerate(texts, 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KnowledgeBaseError(
                f"{path}:{number}: not JSON ({exc.msg}); the file is damaged or truncated"
            ) from None
        if not isinstance(line, dict) or "kind" not in line:
            raise KnowledgeBaseError(f"{path}:{number}: not a knowledge-base line")
        lines.append(line)
    if not lines or lines[0].get("kind") != "header" or lines[0].get("format") != FORMAT:
        raise KnowledgeBaseError(f"{path}: not an autorl knowledge-base file (no {FORMAT} header)")
    version = lines[0].get("version")
    if not isinstance(version, int) or version > VERSION:
        raise KnowledgeBaseError(
            f"{path}: written in knowledge-base format {version}, newer than this autorl "
            f"reads ({VERSION}); upgrade autorl to import it"
        )
    if lines[-1].get("kind") != "end":
        raise KnowledgeBaseError(f"{path}: truncated (no end line); export it again")
    counts = Counter(line["kind"] for line in lines[1:-1])
    expected = lines[-1].get("counts", {})
    for kind in ("task", "study", "trial"):
        if counts.get(kind, 0) != expected.get(kind, 0):
            raise KnowledgeBaseError(
                f"{path}: {counts.get(kind, 0)} {kind} lines but the end line says "
                f"{expected.get(kind, 0)}; the file is damaged"
            )
    return lines[1:-1]


def _parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def frozen_trial(line: dict[str, Any]) -> FrozenTrial:
    state = TrialState[line["state"]]
    if state not in EXPORTED_STATES:
        raise ValueError(f"state {state.name} is not a finished trial")
    return FrozenTrial(
        number=int(line.get("number", 0)),  # in the exporting study; an import renumbers
        state=state,
        value=line["value"] if state == TrialState.COMPLETE else None,
        datetime_start=_parse_time(line.get("datetime_start")),
        datetime_complete=_parse_time(line.get("datetime_complete")),
        params=line["params"],
        distributions={k: json_to_distribution(v) for k, v in line["distributions"].items()},
        user_attrs={**line["user_attrs"], ORIGIN_ATTR: line["fingerprint"]},
        system_attrs={},
        intermediate_values={int(k): v for k, v in line["intermediate_values"].items()},
        trial_id=0,
    )


def _check_studies(lines: list[dict[str, Any]], storage: optuna.storages.BaseStorage) -> None:
    """Refuse before writing if a study of the same name exists with other settings."""
    existing = {s.study_name: s for s in storage.get_all_studies()}
    for line in lines:
        if line["kind"] != "study" or line["name"] not in existing:
            continue
        ours = existing[line["name"]].user_attrs.get(attrs.STUDY_CONFIG)
        theirs = line["user_attrs"].get(attrs.STUDY_CONFIG)
        if ours is None or theirs is None:
            continue
        diffs = mismatches(StudyConfig.from_dict(ours), StudyConfig.from_dict(theirs))
        if diffs:
            raise KnowledgeBaseError(
                f"study {line['name']!r} exists here with other settings ({'; '.join(diffs)}); "
                "nothing was imported. Import into another storage, or rename one of them."
            )


def _check_imports(lines: list[dict[str, Any]], allowed: Sequence[str], path: Path) -> None:
    """Refuse a file whose tasks or studies would import code not on ``allowed``: a shared
    file names entry points, and a worker that serves its study, or a user who resumes it,
    would import them."""
    specs = [line["spec"] for line in lines if line["kind"] == "task"]
    specs += [
        config["task"]
        for line in lines
        if line["kind"] == "study" and (config := line["user_attrs"].get(attrs.STUDY_CONFIG))
    ]
    for spec in specs:
        if (target := disallowed_import(TaskSpec.from_dict(spec), allowed)) is not None:
            raise KnowledgeBaseError(
                f"{path}: task {spec.get('env_id')!r} would import code ({target!r}), and "
                f"its module is not allowed; nothing imported. If you trust it, import "
                f"with --allow-entry-points {target.split(':', 1)[0]}"
            )


def import_kb(storage_url: str, path: Path, allow_entry_points: Sequence[str] = ()) -> ImportCounts:
    """Add the file's tasks, studies and trials; what is already here is left as it is. A
    task or study that imports code (an entry point) needs its module's prefix in
    ``allow_entry_points``."""
    from autorl import db

    lines = read_kb(path)
    _check_imports(lines, allow_entry_points, path)
    storage = open_storage(storage_url)
    try:
        trials = [frozen_trial(line) for line in lines if line["kind"] == "trial"]
    except (KeyError, ValueError, TypeError) as exc:
        raise KnowledgeBaseError(
            f"{path}: a trial line is malformed ({exc}); nothing imported"
        ) from None
    _check_studies(lines, storage)
    by_study: dict[str, list[FrozenTrial]] = {}
    for line, trial in zip((ln for ln in lines if ln["kind"] == "trial"), trials, strict=True):
        by_study.setdefault(line["study"], []).append(trial)
    tasks = 0
    for line in lines:
        if line["kind"] == "task":
            spec = TaskSpec.from_dict(line["spec"])
            families = line.get("families") or [None]
            for family in families:
                db.register_task(storage_url, spec, family)
            if line.get("features"):
                db.set_features(storage_url, line["key"], TaskFeatures.from_dict(line["features"]))
            tasks += 1
    created = added = skipped = 0
    for line in lines:
        if line["kind"] != "study":
            continue
        study = optuna.create_study(
            study_name=line["name"], storage=storage, direction="maximize", load_if_exists=True
        )
        if not study.user_attrs:
            created += 1
            for key, value in line["user_attrs"].items():
                study.set_user_attr(key, value)
        db.link_study(
            storage_url, StudyLink(line["name"], line["task_key"], line["algo"], line.get("family"))
        )
        present = {fingerprint(t) for t in study.get_trials(deepcopy=False)}
        fresh = [
            t for t in by_study.get(line["name"], []) if t.user_attrs[ORIGIN_ATTR] not in present
        ]
        skipped += len(by_study.get(line["name"], [])) - len(fresh)
        add_finished_trials(storage, storage.get_study_id_from_name(line["name"]), fresh)
        added += len(fresh)
    return ImportCounts(tasks, created, added, skipped)
