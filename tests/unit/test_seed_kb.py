"""The shipped seed knowledge base: every file imports cleanly, once, and warms its families."""

from __future__ import annotations

from pathlib import Path

import pytest

from autorl.knowledge.history import past_tasks
from autorl.knowledge.kb import import_kb
from autorl.settings import shipped

SEED = shipped("storage/seed")
FILES = sorted(SEED.glob("*.jsonl"))


def test_a_seed_knowledge_base_is_shipped_for_both_families():
    names = {path.name for path in FILES}
    assert {"cartpole-physics-ppo-30000.jsonl", "pendulum-physics-sac-10000.jsonl"} <= names


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_seed_file_imports_once_and_a_second_import_adds_nothing(path: Path, tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    first = import_kb(url, path)
    assert first.tasks == 6 and first.studies_created == 6 and first.trials_added >= 48
    again = import_kb(url, path)
    assert again.studies_created == 0 and again.trials_added == 0


def test_a_fresh_storage_is_warm_from_the_shipped_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORL_SEED_KB", str(SEED))
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    ppo = past_tasks(fresh, "ppo")
    sac = past_tasks(fresh, "sac")
    assert {f for t in ppo for f in t.families} == {"cartpole-physics"} and len(ppo) == 6
    assert {f for t in sac for f in t.families} == {"pendulum-physics"} and len(sac) == 6
    # what the Pendulum table teaches: a configuration that clears -200 on every task
    assert all(max(t.score for t in task.trials if t.score is not None) > -200 for task in sac)


def test_seed_evidence_names_the_trial_it_comes_from(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTORL_SEED_KB", str(SEED))
    (task, *_) = past_tasks(f"sqlite:///{tmp_path / 'fresh.db'}", "ppo")
    numbers = [trial.number for trial in task.trials]
    assert len(set(numbers)) == len(numbers) > 1  # not all "#0": a warm start's origin says which
