"""One searched (or fixed) parameter: its schema, how to sample it, whether a value is inside.

A parameter is ``{type: float | int | categorical | fixed, ...}`` with an optional ``when``
(``{other_param: value or [values], action_space: [kinds]}``): it exists only when every
condition holds. A bare scalar or list in YAML is shorthand for ``{type: fixed, value: ...}``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Primitive = str | int | float | bool | None
ACTION_SPACE_KEY = "action_space"


class TrialLike(Protocol):
    """The part of ``optuna.Trial`` a space uses (duck-typed: no Optuna import)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


def same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` apart from ``1`` (choices are compared this way)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def is_primitive(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def is_json(value: Any) -> bool:
    if is_primitive(value):
        return True
    if isinstance(value, list):
        return all(is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json(v) for k, v in value.items())
    return False


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    when: dict[str, list[Any]] | None = None
    # population-based training may change it during a run (``catalog.MUTABLE`` says which)
    mutable: bool = False

    @field_validator("when", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, list) else [v] for k, v in value.items()}
        return value

    @field_validator("when")
    @classmethod
    def _non_empty(cls, value: dict[str, list[Any]] | None) -> Any:
        if value is not None:
            for key, allowed in value.items():
                if not allowed:
                    raise ValueError(f"{key}: give at least one value")
                if not all(is_primitive(v) for v in allowed):
                    raise ValueError(f"{key}: values must be strings, numbers, booleans or null")
        return value

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=True) | {"type": self.type}  # type: ignore[attr-defined]


class FloatParam(_Base):
    type: Literal["float"] = "float"
    low: Annotated[float, Field(strict=True, allow_inf_nan=False)]
    high: Annotated[float, Field(strict=True, allow_inf_nan=False)]
    log: bool = False
    step: Annotated[float, Field(strict=True, gt=0)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> FloatParam:
        _check_bounds(self.low, self.high, self.log)
        if self.log and self.step is not None:
            raise ValueError("step: a log-scale parameter cannot have a step")
        return self

    def sample(self, name: str, trial: TrialLike) -> float:
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, got {value!r}"
        tol = 1e-12 * max(1.0, abs(self.low), abs(self.high))
        if not self.low - tol <= value <= self.high + tol:
            return f"{value!r} is outside [{self.low:g}, {self.high:g}]"
        if self.step is not None:
            k = (value - self.low) / self.step
            if abs(k - round(k)) > 1e-6:
                return f"{value!r} is not on the grid {self.low:g} + k * {self.step:g}"
        return None

    def candidates(self) -> list[tuple[str, Any]]:
        return [("low", self.low), ("high", self.high)]


class IntParam(_Base):
    type: Literal["int"] = "int"
    low: Annotated[int, Field(strict=True)]
    high: Annotated[int, Field(strict=True)]
    log: bool = False
    step: Annotated[int, Field(strict=True, ge=1)] = 1

    @model_validator(mode="after")
    def _bounds(self) -> IntParam:
        _check_bounds(self.low, self.high, self.log)
        if self.log and self.step != 1:
            raise ValueError("step: a log-scale parameter must have step 1")
        return self

    def sample(self, name: str, trial: TrialLike) -> int:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def contains(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {value!r}"
        if not self.low <= value <= self.high:
            return f"{value!r} is outside [{self.low}, {self.high}]"
        if (value - self.low) % self.step:
            return f"{value!r} is not on the grid {self.low} + k * {self.step}"
        return None

    def candidates(self) -> list[tuple[str, Any]]:
        values = range(self.low, self.high + 1, self.step)
        inner = values[1:-1] if len(values) <= 1000 else range(0)
        inside = [("", v) for v in inner]  # no field of its own: the range as a whole
        return [("low", self.low), *inside, ("high", values[-1])]


class CategoricalParam(_Base):
    type: Literal["categorical"] = "categorical"
    choices: list[Any]

    @field_validator("choices")
    @classmethod
    def _choices(cls, value: list[Any]) -> list[Any]:
        if not value:
            raise ValueError("give at least one choice")
        for i, choice in enumerate(value):
            if not is_primitive(choice):
                raise ValueError(f"[{i}]: must be a string, number, boolean or null")
            if any(same(choice, other) for other in value[:i]):
                raise ValueError(f"[{i}]: {choice!r} is listed twice")
        return value

    def sample(self, name: str, trial: TrialLike) -> Primitive:
        return trial.suggest_categorical(name, list(self.choices))

    def contains(self, value: Any) -> str | None:
        if any(same(value, c) for c in self.choices):
            return None
        return f"{value!r} is not one of the choices {self.choices}"

    def candidates(self) -> list[tuple[str, Any]]:
        return [(f"choices[{i}]", c) for i, c in enumerate(self.choices)]


class FixedParam(_Base):
    type: Literal["fixed"] = "fixed"
    value: Any

    @field_validator("value")
    @classmethod
    def _json(cls, value: Any) -> Any:
        if not is_json(value):
            raise ValueError("must be JSON data (strings, numbers, booleans, lists, maps)")
        return value

    def sample(self, name: str, trial: TrialLike) -> Any:
        return self.value

    def contains(self, value: Any) -> str | None:
        if same(value, self.value) or (
            isinstance(value, tuple | list) and list(value) == self.value
        ):
            return None
        return f"is fixed to {self.value!r} in this space, got {value!r}"

    def candidates(self) -> list[tuple[str, Any]]:
        return [("value", self.value)]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "fixed", "value": self.value}
        if self.when is not None:
            out["when"] = self.when
        if self.mutable:
            out["mutable"] = True
        return out


ParamSpec = FloatParam | IntParam | CategoricalParam | FixedParam
PARAM_TYPES: dict[str, type[ParamSpec]] = {
    "float": FloatParam,
    "int": IntParam,
    "categorical": CategoricalParam,
    "fixed": FixedParam,
}


def _check_bounds(low: float, high: float, log: bool) -> None:
    if log and low <= 0:
        raise ValueError("low: must be > 0 for a log-scale parameter")
    if not low < high:
        raise ValueError(f"low: must be < high ({low} >= {high}); use a fixed value instead")
