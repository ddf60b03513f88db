"""Task-family files: a base environment and its variants, validated before anything runs.

```yaml
name: pendulum-physics
description: Pendulum-v1 under other gravity and pendulum mass
threshold: -200          # the return that counts as solved (default: the env's registered one)
base: {env_id: Pendulum-v1}
variants:
  - {name: g8, env_kwargs: {g: 8.0}}
  - {name: m1.3, env_attrs: {m: 1.3}, threshold: -250}
```
A variant's ``env_kwargs`` and ``env_attrs`` are merged over the base's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autorl.datafiles import display_path, load_yaml, pydantic_problems
from autorl.errors import FamilyError
from autorl.types import TaskSpec

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Env(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env_id: str | None = None
    entry_point: str | None = None
    env_kwargs: dict[str, Any] = {}
    env_attrs: dict[str, Any] = {}


class _Variant(_Env):
    name: str | None = None
    threshold: float | None = None


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    threshold: float | None = None
    base: _Env
    variants: list[_Variant] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("letters, digits, '.', '_' and '-' only (at most 64 characters)")
        return value


@dataclass(frozen=True)
class FamilyTask:
    """One variant: its name in the family, the task, and its solved threshold if known."""

    name: str
    spec: TaskSpec
    threshold: float | None


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    tasks: tuple[FamilyTask, ...]
    source: str = ""


def _variant_name(variant: _Variant, spec: TaskSpec, index: int) -> str:
    if variant.name:
        return variant.name
    changes = {**spec.env_kwargs, **spec.env_attrs}
    if not changes:
        return spec.env_id if index == 0 else f"{spec.env_id}#{index}"
    return ",".join(f"{k}={v}" for k, v in sorted(changes.items()))


def parse_family(data: Any, source: str = "<family>") -> Family:
    """Validate a family document; ``FamilyError`` names the source, field and reason."""
    if not isinstance(data, dict):
        raise FamilyError(f"{source}: expected a mapping with name, base and variants")
    try:
        doc = _Document.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {where}: {why}" for where, why in pydantic_problems(exc, "")]
        raise FamilyError("\n".join(lines)) from None
    problems: list[str] = []
    tasks: list[FamilyTask] = []
    for i, variant in enumerate(doc.variants):
        env_id = variant.env_id or doc.base.env_id
        if not env_id:
            problems.append(f"variants[{i}].env_id: required here or in base")
            continue
        spec = TaskSpec(
            env_id=env_id,
            entry_point=variant.entry_point or doc.base.entry_point,
            env_kwargs={**doc.base.env_kwargs, **variant.env_kwargs},
            env_attrs={**doc.base.env_attrs, **variant.env_attrs},
            family=doc.name,
        )
        name = _variant_name(variant, spec, i)
        threshold = variant.threshold if variant.threshold is not None else doc.threshold
        tasks.append(FamilyTask(name, spec, threshold))
    names = [t.name for t in tasks]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"variants: the name {name!r} is used twice")
    keys = [t.spec.key() for t in tasks]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        twins = [t.name for t in tasks if t.spec.key() == key]
        problems.append(f"variants: {', '.join(twins)} are the same environment")
    if problems:
        raise FamilyError("\n".join(f"{source}: {p}" for p in problems))
    return Family(doc.name, doc.description, tuple(tasks), source)


SHIPPED = Path(__file__).resolve().parent / "files"  # one family per domain, in the package


def shipped_families() -> list[str]:
    """The names of the family files autorl ships (``autorl/families/files``)."""
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def load_family(path: str | Path) -> Family:
    """Read and validate a family file: a path, or the name of a shipped family."""
    file = Path(path)
    if not file.is_file() and NAME.match(str(path)) and (SHIPPED / f"{path}.yaml").is_file():
        file = SHIPPED / f"{path}.yaml"
    shown = display_path(file)
    if not file.is_file():
        raise FamilyError(
            f"{shown}: no such family file, nor a shipped family "
            f"(shipped: {', '.join(shipped_families())})"
        )
    return parse_family(load_yaml(file, shown, FamilyError), shown)
