"""The search-space document: pydantic schema plus the checks that need the catalog.

``parse(data, source)`` returns a ``ParsedSpace`` or raises ``SpaceError`` whose message names
the source, the field as a dotted path and the reason, one line per problem, e.g.
``search_spaces/x.yaml: params.learning_rate.low: must be > 0 for a log-scale parameter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from autorl.datafiles import pydantic_problems
from autorl.errors import SpaceError
from autorl.spaces import catalog
from autorl.spaces.constraints import CONSTRAINTS, ORDER
from autorl.spaces.params import ACTION_SPACE_KEY, PARAM_TYPES, FixedParam, FloatParam, ParamSpec
from autorl.spaces.values import check_value, is_number

SECTIONS = ("env", "params")


@dataclass(frozen=True)
class ParamDef:
    """A declared parameter: its name, its section (``env`` or ``params``) and its spec."""

    name: str
    section: str
    spec: ParamSpec


@dataclass(frozen=True)
class ParsedSpace:
    algo: str
    name: str
    description: str
    policy: str
    params: tuple[ParamDef, ...]
    constraints: tuple[tuple[str, BaseModel], ...]  # in repair ORDER


class Document(BaseModel):
    """The top level of a search-space file."""

    model_config = ConfigDict(extra="forbid")

    algo: str
    name: str | None = None
    description: str = ""
    policy: str = "MlpPolicy"
    env: dict[str, Any] = {}
    params: dict[str, Any]
    constraints: dict[str, dict[str, Any] | None] = {}


class _Checker:
    """Collects every problem of one document, then raises them together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[tuple[str, str]] = []

    def add(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def raise_if_any(self) -> None:
        if self.problems:
            lines = [f"{self.source}: {path}: {reason}" for path, reason in self.problems]
            raise SpaceError("\n".join(lines))


def _parse_spec(raw: Any, path: str, chk: _Checker) -> ParamSpec | None:
    if not isinstance(raw, dict):
        raw = {"type": "fixed", "value": raw}
    kind = raw.get("type")
    if kind not in PARAM_TYPES:
        what = "missing" if kind is None else f"unknown parameter type {kind!r}"
        chk.add(f"{path}.type", f"{what} (use {', '.join(PARAM_TYPES)})")
        return None
    try:
        return PARAM_TYPES[kind].model_validate(raw)
    except ValidationError as exc:
        for where, reason in pydantic_problems(exc, path):
            chk.add(where, reason)
        return None


def _check_name(algo: str, section: str, name: str, path: str, chk: _Checker) -> bool:
    if section == "env":
        if name not in catalog.ENV_SETTINGS:
            chk.add(path, f"unknown env setting (use {', '.join(sorted(catalog.ENV_SETTINGS))})")
            return False
        return True
    if name in catalog.ENV_SETTINGS:
        chk.add(path, "an env setting: declare it in the env: section")
        return False
    if name == ACTION_SPACE_KEY:
        chk.add(path, f"{ACTION_SPACE_KEY!r} is reserved for when: conditions")
        return False
    if name not in catalog.accepted_names(algo):
        others = catalog.owners(name)
        if others:
            chk.add(path, f"not a parameter of {algo} (it belongs to {', '.join(others)})")
        else:
            accepted = ", ".join(sorted(catalog.accepted_names(algo) - catalog.ENV_SETTINGS))
            chk.add(path, f"no algorithm accepts this parameter ({algo} accepts: {accepted})")
        return False
    return True


def _check_values(name: str, spec: ParamSpec, path: str, chk: _Checker) -> None:
    for label, value in spec.candidates():
        reason = check_value(name, value)
        if reason is not None:
            if label:
                chk.add(f"{path}.{label}", reason)
            else:
                chk.add(path, f"the range includes {value!r}, which {reason}")
                return


def _check_mutable(algo: str, name: str, spec: ParamSpec, path: str, chk: _Checker) -> None:
    if not spec.mutable or isinstance(spec, FixedParam):
        return  # a fixed value stays fixed (with_fixed keeps the flag, PBT never moves it)
    if name not in catalog.MUTABLE[algo]:
        allowed = ", ".join(sorted(catalog.MUTABLE[algo]))
        chk.add(
            f"{path}.mutable",
            f"{name} cannot change during a {algo} run (it is built into the model, its "
            f"buffers or the env); parameters that may: {allowed}",
        )


def _check_when(defs: list[ParamDef], index: int, path: str, chk: _Checker) -> None:
    spec = defs[index].spec
    earlier = {d.name: d.spec for d in defs[:index]}
    for ref, allowed in (spec.when or {}).items():
        where = f"{path}.when.{ref}"
        if ref == ACTION_SPACE_KEY:
            bad = [v for v in allowed if v not in catalog.ACTION_SPACE_KINDS]
            if bad:
                kinds = ", ".join(catalog.ACTION_SPACE_KINDS)
                chk.add(where, f"unknown action-space kind {bad[0]!r} (use {kinds})")
            continue
        target = earlier.get(ref)
        if target is None:
            chk.add(where, f"refers to {ref!r}, which is not declared before {defs[index].name}")
            continue
        if isinstance(target, FloatParam):
            chk.add(where, f"{ref} is a float parameter; conditions need categorical/int/fixed")
            continue
        if isinstance(target, FixedParam):
            continue  # e.g. use_sde fixed off by with_fixed: the dependent is simply never used
        for value in allowed:
            if target.contains(value) is not None:
                chk.add(where, f"{value!r} can never match {ref} ({target.contains(value)})")


def _check_relations(algo: str, specs: dict[str, tuple[str, ParamSpec]], chk: _Checker) -> None:
    def where(name: str) -> str:
        return f"{specs[name][0]}.{name}"

    def possible(name: str) -> list[Any]:
        return [v for _, v in specs[name][1].candidates()]

    for a, b in catalog.CONFLICTS:
        if a in specs and b in specs:
            chk.add(where(b), f"says the same as {where(a)}: declare only one of them")
    for name, needed in catalog.REQUIRES.items():
        if name in specs and needed not in specs:
            chk.add(where(name), f"needs params.{needed}")
    if "cnn" in specs and "shared_trunk" in specs:
        chk.add(
            where("shared_trunk"),
            "a space with params.cnn shares its CNN between actor and critic already: "
            "drop shared_trunk (and head_depth)",
        )
    noisy = "noise_type" in specs and any(v != "none" for v in possible("noise_type"))
    if noisy and "noise_std" not in specs:
        chk.add(where("noise_type"), "needs params.noise_std for the noise types it allows")
    can_fix = "ent_coef_mode" in specs and "fixed" in possible("ent_coef_mode")
    if can_fix and "ent_coef_value" not in specs:
        chk.add(where("ent_coef_mode"), 'allows "fixed": needs params.ent_coef_value')
    for name, base in (("lr_schedule", "learning_rate"), ("clip_schedule", "clip_range")):
        if name in specs and base in specs and not all(is_number(v) for v in possible(base)):
            chk.add(where(base), f"must be a plain number when {name} is declared")


def _parse_params(algo: str, doc: Document, chk: _Checker) -> tuple[ParamDef, ...]:
    defs: list[ParamDef] = []
    seen: dict[str, tuple[str, ParamSpec]] = {}
    for section in SECTIONS:
        for name, raw in getattr(doc, section).items():
            path = f"{section}.{name}"
            if name in seen:
                chk.add(path, f"already declared in {seen[name][0]}")
                continue
            if not _check_name(algo, section, name, path, chk):
                continue
            spec = _parse_spec(raw, path, chk)
            if spec is None:
                continue
            _check_values(name, spec, path, chk)
            _check_mutable(algo, name, spec, path, chk)
            defs.append(ParamDef(name, section, spec))
            seen[name] = (section, spec)
            _check_when(defs, len(defs) - 1, path, chk)
    _check_relations(algo, seen, chk)
    return tuple(defs)


def _parse_constraints(algo: str, doc: Document, chk: _Checker) -> tuple[tuple[str, Any], ...]:
    parsed: dict[str, BaseModel] = {}
    for name, raw in doc.constraints.items():
        path = f"constraints.{name}"
        constraint = CONSTRAINTS.get(name)
        if constraint is None:
            chk.add(path, f"unknown constraint (known: {', '.join(ORDER)})")
            continue
        if algo not in constraint.algos:
            chk.add(
                path,
                f"does not apply to {algo} (it applies to {', '.join(sorted(constraint.algos))})",
            )
            continue
        try:
            parsed[name] = constraint.args.model_validate(raw or {})
        except ValidationError as exc:
            for where, reason in pydantic_problems(exc, path):
                chk.add(where, reason)
    return tuple((name, parsed[name]) for name in ORDER if name in parsed)


def parse(data: Any, source: str, default_name: str = "custom") -> ParsedSpace:
    """Validate a search-space document (the YAML, or ``SearchSpace.to_dict()``)."""
    chk = _Checker(source)
    if not isinstance(data, dict):
        chk.add("(top level)", "must be a mapping with algo, params, env, constraints")
        chk.raise_if_any()
    try:
        doc = Document.model_validate(data)
    except ValidationError as exc:
        for where, reason in pydantic_problems(exc, ""):
            chk.add(where, reason)
        chk.raise_if_any()
        raise  # unreachable: there were problems
    algo = doc.algo.lower()
    if algo not in catalog.ALGORITHMS:
        chk.add("algo", f"unknown algorithm {doc.algo!r} (use {', '.join(catalog.ALGORITHMS)})")
        chk.raise_if_any()
    if doc.policy not in catalog.POLICIES:
        chk.add("policy", f"unknown policy {doc.policy!r} (use {', '.join(catalog.POLICIES)})")
    params = _parse_params(algo, doc, chk)
    constraints = _parse_constraints(algo, doc, chk)
    chk.raise_if_any()
    return ParsedSpace(
        algo=algo,
        name=doc.name or default_name,
        description=doc.description,
        policy=doc.policy,
        params=params,
        constraints=constraints,
    )
