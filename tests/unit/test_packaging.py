"""What the wheel is built from: every package of autorl/ and every shipped data folder.

The build itself (wheel, fresh virtual environment, a study tuned from another folder) is
``tests/integration/test_wheel.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autorl.settings import shipped

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_of_autorl_is_in_the_wheel():
    found = {
        ".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "autorl").rglob("*.py")
    }
    listed = set(SETUPTOOLS["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_the_shipped_data_folders_are_mapped_into_the_package():
    mapped = SETUPTOOLS["package-dir"]
    for folder in ("search_spaces", "storage/migrations", "storage/seed"):
        package = "autorl._shipped." + folder.replace("/", ".")
        assert mapped[package] == folder
        assert package in SETUPTOOLS["packages"]
        assert SETUPTOOLS["package-data"].get(package) or folder.endswith("versions")
    # in a checkout autorl reads them where they are
    assert shipped("search_spaces") == ROOT / "search_spaces"
    assert (shipped("storage/migrations") / "env.py").is_file()
    assert sorted(shipped("storage/seed").glob("*.jsonl"))


def test_optuna_is_pinned_below_its_next_major_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (optuna,) = [d for d in project["dependencies"] if d.startswith("optuna")]
    assert "<5" in optuna  # study/stats.py reads Optuna's own tables
