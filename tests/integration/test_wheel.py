"""``pip install autorl`` works: the wheel, installed into a fresh virtual environment, tunes a
study from a folder that is not the source checkout (search spaces, migrations and the seed
knowledge base come from the package). No network: the wheel is built without isolation and
the new environment reuses this one's installed dependencies."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import optuna
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_wheel_installs_and_tunes_from_another_folder(tmp_path):
    source = tmp_path / "source"  # what the build reads, copied: no stale build/ of the checkout
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.db*", "*.lock")
    for part in ("pyproject.toml", "README.md", "autorl", "search_spaces", "storage"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        copy(ROOT / part, source / part, **({"ignore": ignore} if copy is shutil.copytree else {}))
    pip = [sys.executable, "-m", "pip"]
    offline = ["--no-deps", "--no-index", "-q"]
    _run([*pip, "wheel", str(source), "--no-build-isolation", *offline, "-w", str(tmp_path / "d")])
    (wheel,) = (tmp_path / "d").glob("autorl-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # this environment's dependencies, after the new environment's own packages
    deps = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    (purelib / "dependencies.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    _run([*pip, "--python", str(python), "install", *offline, str(wheel)])

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTORL_", "PYTHON"))}
    where = _run([str(python), "-c", "import autorl; print(autorl.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(purelib)  # not the checkout
    url = f"sqlite:///{work / 'studies.db'}"
    args = ["tune", "CartPole-v1", "--algo", "ppo", "--trials", "2", "--seeds", "1"]
    args += ["--timesteps", "300", "--evaluations", "1", "--eval-episodes", "2"]
    args += ["--test-seeds", "2", "--test-episodes", "2"]
    args += ["--no-progress", "--storage", url]
    out = _run([str(venv / "bin" / "autorl"), *args], cwd=work, env=env).stdout
    assert "warm start: the first" in out  # from the seed knowledge base the wheel ships

    study = optuna.load_study(study_name="CartPole-v1-ppo", storage=url)
    assert len([t for t in study.trials if t.state.is_finished()]) == 2
    assert study.user_attrs  # the study record was written (the migrations ran from the wheel)
