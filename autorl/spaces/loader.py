"""Find and read search-space files: ``load_space("ppo")`` or ``load_space("my/space.yaml")``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from autorl import config
from autorl.errors import SpaceError
from autorl.spaces.space import SearchSpace

SUFFIXES = (".yaml", ".yml")

# YAML 1.1 reads ``1e-5`` as a string (it wants ``1.0e-5``); accept both spellings as floats.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """Safe YAML with ``1e-5`` floats and an error on duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def available_spaces() -> list[str]:
    """Names of the spaces in ``config.spaces_dir()`` (``ppo``, ``sac`` ...), sorted."""
    folder = config.spaces_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def space_path(name_or_path: str | Path) -> Path:
    """The file for a bare name (``ppo`` -> ``spaces_dir()/ppo.yaml``) or a path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith(SUFFIXES):
        return Path(name_or_path)
    return config.spaces_dir() / f"{text}.yaml"


def load_space(name_or_path: str | Path) -> SearchSpace:
    """Read and validate a search space; ``SpaceError`` names the file, field and reason."""
    path = space_path(name_or_path)
    shown = _display(path)
    if not path.is_file():
        if path.parent == config.spaces_dir() and not isinstance(name_or_path, Path):
            names = ", ".join(available_spaces()) or "none"
            raise SpaceError(f"no search space named {str(name_or_path)!r} (available: {names})")
        raise SpaceError(f"{shown}: no such file")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SpaceError(f"{shown}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"{shown}: cannot read: {exc}") from exc
    if isinstance(data, dict) and "name" not in data:
        data = {**data, "name": path.stem}
    return SearchSpace.from_dict(data if data is not None else {}, source=shown)
