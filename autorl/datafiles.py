"""Reading the project's YAML data files (search spaces, task families) with precise errors.

``load_yaml`` reads ``1e-5`` as a float and refuses duplicate keys; ``pydantic_problems`` turns
a pydantic ``ValidationError`` into ``(dotted.path, reason)`` pairs a user can act on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

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


MAX_VALUES = 100_000  # values in a data file once its aliases are expanded


def _too_big_or_cyclic(data: Any) -> str | None:
    """Why parsed YAML cannot be used as data: an alias inside itself (a cycle), or aliases
    that expand it past MAX_VALUES values (a "billion laughs" file is a few lines)."""
    count = 0
    stack: list[tuple[Any, frozenset[int]]] = [(data, frozenset())]
    while stack:
        value, ancestors = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return f"more than {MAX_VALUES} values once its aliases are expanded"
        if isinstance(value, dict | list):
            if id(value) in ancestors:
                return "an alias refers to a value that contains it"
            inner = ancestors | {id(value)}
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, inner) for item in items)
    return None


def load_yaml(path: Path, shown: str, error: type[Exception]) -> Any:
    """The parsed file; ``error(f"{shown}: ...")`` if it cannot be read or parsed (tags that
    would build Python objects are not YAML this reads: safe loading)."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise error(f"{shown}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{shown}: cannot read: {exc}") from exc
    problem = _too_big_or_cyclic(data)
    if problem is not None:
        raise error(f"{shown}: cannot be used: {problem}")
    return data


def display_path(path: Path) -> str:
    """The path relative to the working directory where it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


_PREFIX = re.compile(r"^(\[\d+\]|[A-Za-z_][\w.\[\]]*): (.*)$", re.S)


def join_path(path: str, part: str) -> str:
    if not part:
        return path
    if not path:
        return part
    return path + part if part.startswith("[") else f"{path}.{part}"


def pydantic_problems(exc: ValidationError, path: str) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors():
        where = path
        for part in err["loc"]:
            where = join_path(where, f"[{part}]" if isinstance(part, int) else str(part))
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "required field is missing"
        match = _PREFIX.match(message)
        if match:
            where, message = join_path(where, match.group(1)), match.group(2)
        problems.append((where, message))
    return problems
