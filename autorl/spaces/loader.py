"""Find and read search-space files: ``load_space("ppo")`` or ``load_space("my/space.yaml")``."""

from __future__ import annotations

from pathlib import Path

from autorl import settings
from autorl.datafiles import display_path, load_yaml
from autorl.errors import SpaceError
from autorl.spaces.space import SearchSpace

SUFFIXES = (".yaml", ".yml")


def available_spaces() -> list[str]:
    """Names of the spaces in ``settings.spaces_dir()`` (``ppo``, ``sac`` ...), sorted."""
    folder = settings.spaces_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def space_path(name_or_path: str | Path) -> Path:
    """The file for a bare name (``ppo`` -> ``spaces_dir()/ppo.yaml``) or a path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith(SUFFIXES):
        return Path(name_or_path)
    return settings.spaces_dir() / f"{text}.yaml"


def load_space(name_or_path: str | Path) -> SearchSpace:
    """Read and validate a search space; ``SpaceError`` names the file, field and reason."""
    path = space_path(name_or_path)
    shown = display_path(path)
    if not path.is_file():
        if path.parent == settings.spaces_dir() and not isinstance(name_or_path, Path):
            names = ", ".join(available_spaces()) or "none"
            raise SpaceError(f"no search space named {str(name_or_path)!r} (available: {names})")
        raise SpaceError(f"{shown}: no such file")
    data = load_yaml(path, shown, SpaceError)
    if isinstance(data, dict) and "name" not in data:
        data = {**data, "name": path.stem}
    return SearchSpace.from_dict(data if data is not None else {}, source=shown)
