"""``SearchSpace``: sample a configuration, check one, resolve one into a ``TrainConfig``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from autorl.errors import SpaceError
from autorl.spaces import catalog, conv, invariants, schema
from autorl.spaces.conditions import is_active
from autorl.spaces.constraints import CONSTRAINTS, Draft, fit_budget
from autorl.spaces.params import FixedParam, FloatParam, IntParam, ParamSpec, TrialLike
from autorl.spaces.transform import to_sb3
from autorl.spaces.values import is_int, is_number
from autorl.types import EnvSettings, TrainConfig

SMALL_WIDTHS = (4, 8, 16, 32)  # hidden widths a size-aware search adds (``with_small_networks``)
MAX_SEARCHED_DEPTH = 4  # the depth a size-aware search reaches (at least)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolution:
    """A configuration ready to train, and what ``resolve`` changed to make it feasible."""

    config: TrainConfig
    repairs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space for one algorithm. Build it with ``load_space`` or ``from_dict``.

    Parameters are sampled in declaration order (``env:`` first); a parameter whose ``when``
    does not hold is left out. Fixed parameters are never suggested to the trial but appear in
    ``sample``'s result.
    """

    algo: str
    name: str
    policy: str
    description: str
    params: tuple[schema.ParamDef, ...]
    constraints: tuple[tuple[str, BaseModel], ...]

    # --- construction and storage ---------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> SearchSpace:
        """Validate a document (a parsed YAML file or ``to_dict()``'s output)."""
        name = data.get("name") if isinstance(data, Mapping) else None
        label = source or f"space {name or '(unnamed)'}"
        parsed = schema.parse(dict(data) if isinstance(data, Mapping) else data, label)
        return cls(
            algo=parsed.algo,
            name=parsed.name,
            policy=parsed.policy,
            description=parsed.description,
            params=parsed.params,
            constraints=parsed.constraints,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; ``from_dict(to_dict())`` gives an equal space."""
        sections: dict[str, dict[str, Any]] = {s: {} for s in schema.SECTIONS}
        for d in self.params:
            sections[d.section][d.name] = d.spec.to_dict()
        return {
            "algo": self.algo,
            "name": self.name,
            "description": self.description,
            "policy": self.policy,
            "env": sections["env"],
            "params": sections["params"],
            "constraints": {name: args.model_dump() for name, args in self.constraints},
        }

    # --- introspection --------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.params)

    @property
    def searched(self) -> tuple[str, ...]:
        """The parameters a trial is asked for (not fixed)."""
        return tuple(d.name for d in self.params if not isinstance(d.spec, FixedParam))

    @property
    def fixed(self) -> dict[str, Any]:
        return {d.name: d.spec.value for d in self.params if isinstance(d.spec, FixedParam)}

    def spec(self, name: str) -> ParamSpec:
        for d in self.params:
            if d.name == name:
                return d.spec
        raise KeyError(name)

    # --- variants -------------------------------------------------------------------------

    def with_fixed(self, values: Mapping[str, Any]) -> SearchSpace:
        """This space with ``values`` forced (e.g. ``{"n_envs": 8}``); other names stay searched.

        A name the space lacks is added if the algorithm accepts it. A value must suit the
        parameter's type; it may lie outside the searched range (the user asked for it).
        """
        data = self.to_dict()
        declared = {d.name: d for d in self.params}
        values = _expand_normalize(values, declared)
        for name, value in values.items():
            section = "env" if name in catalog.ENV_SETTINGS else "params"
            value = list(value) if isinstance(value, tuple) else value
            current = declared.get(name)
            if current is None and name not in catalog.accepted_names(self.algo):
                raise SpaceError(
                    f"cannot fix {name!r}: {self.algo} has no such parameter "
                    f"(this space declares: {', '.join(self.names)})"
                )
            if current is not None:
                value = _coerce(name, value, current.spec)
            fixed: dict[str, Any] = {"type": "fixed", "value": value}
            if current is not None and current.spec.when is not None:
                fixed["when"] = current.spec.when
            data[section][name] = fixed
        return SearchSpace.from_dict(data, source=f"space {self.name} with fixed {sorted(values)}")

    def with_small_networks(self) -> SearchSpace:
        """This space with its architecture reaching down to a linear policy: ``net_depth``
        from 0 (no hidden layer) to at least MAX_SEARCHED_DEPTH, ``net_width`` choices down
        to SMALL_WIDTHS and each deeper layer's own width (``net_width_2`` ...), for a
        search that trades return against size; where the algorithm has a critic, the
        critic searched apart (``critic_depth``, ``critic_width``: the space's own ranges,
        not a shared trunk's), since a shipped policy leaves it out. Unchanged where the
        space does not search them (a fixed depth or width stays as the user set it)."""
        data = self.to_dict()
        params = data["params"]
        depth, width = params.get("net_depth"), params.get("net_width")
        changed = False
        searched = (
            isinstance(depth, dict)
            and depth.get("type") == "int"
            and isinstance(width, dict)
            and width.get("type") == "categorical"
        )
        if searched and self.algo in catalog.WITH_CRITIC and "critic_depth" not in params:
            apart = {"when": {"shared_trunk": False}} if "shared_trunk" in params else {}
            params["critic_depth"] = {**depth, **apart}
            params["critic_width"] = {**width, **apart}
            changed = True
        if isinstance(depth, dict) and depth.get("type") == "int":
            reach = {"low": 0, "high": max(int(depth["high"]), MAX_SEARCHED_DEPTH)}
            changed = changed or reach != {"low": depth["low"], "high": depth["high"]}
            params["net_depth"] = {**depth, **reach}
        if isinstance(width, dict) and width.get("type") == "categorical":
            choices = sorted({*width["choices"], *SMALL_WIDTHS})
            changed = changed or choices != list(width["choices"])
            params["net_width"] = {**width, "choices": choices}
            if searched:  # each deeper layer its own width: a funnel can be smaller
                high = params["net_depth"]["high"]
                for k, name in enumerate(catalog.LAYER_WIDTHS, start=2):
                    if name not in params and k <= high:
                        when = {"net_depth": list(range(k, high + 1))}
                        params[name] = {"type": "categorical", "choices": choices, "when": when}
                        changed = True
        if not changed:
            return self
        return SearchSpace.from_dict(data, source=f"space {self.name} with small networks")

    def for_images(self, height: int, width: int) -> SearchSpace:
        """This space for image observations of ``height`` x ``width`` pixels: CnnPolicy, the
        convolutional stacks such frames fit (``cnn``: ``conv.CONV_STACKS``), the width of
        the layer after them (``cnn_features``) and the last 1, 2 or 4 frames stacked
        (``frame_stack``). No shared MLP trunk (the CNN is what actor and critic share) and
        no observation normalisation (pixels are scaled by 255). Unchanged if the space
        declares ``cnn`` already; SpaceError if no stack fits the frames."""
        data = self.to_dict()
        params, env = data["params"], data["env"]
        if "cnn" in params:
            return self
        stacks = conv.fitting_stacks(height, width)
        if not stacks:
            raise SpaceError(
                f"no convolutional stack of {', '.join(conv.CONV_STACKS)} fits "
                f"{height}x{width} frames; give a space with params.cnn (e.g. '8x1')"
            )
        data["policy"] = "CnnPolicy"
        for name in ("shared_trunk", "head_depth"):
            params.pop(name, None)
        for name, spec in list(params.items()):  # drop conditions on the shared trunk
            allowed = (spec.get("when") or {}).pop("shared_trunk", None)
            if allowed is not None and False not in allowed:
                del params[name]  # only ever active with a shared trunk
            elif allowed is not None and not spec["when"]:
                del spec["when"]
        params["cnn"] = {"type": "categorical", "choices": stacks}
        params["cnn_features"] = {"type": "categorical", "choices": list(conv.CNN_FEATURES)}
        env.setdefault("frame_stack", {"type": "categorical", "choices": [1, 2, 4]})
        if "normalize_obs" in env:
            env["normalize_obs"] = {"type": "fixed", "value": False}
        if isinstance(env.get("normalize"), dict) and "choices" in env["normalize"]:
            kept = [c for c in env["normalize"]["choices"] if not catalog.NORMALIZE_MODES[c][0]]
            env["normalize"] = {**env["normalize"], "choices": kept or ["none"]}
        return SearchSpace.from_dict(data, source=f"space {self.name} for {height}x{width} images")

    # --- sampling and checking ------------------------------------------------------------

    def sample(self, trial: TrialLike, action_space_kind: str | None = None) -> dict[str, Any]:
        """Ask ``trial`` (an ``optuna.Trial`` or anything with its three ``suggest_*``) for a
        configuration: ``{name: value}`` for every active parameter, fixed ones included.

        With ``action_space_kind``, parameters conditioned on another kind are not asked for.
        """
        values: dict[str, Any] = {}
        inactive: set[str] = set()
        for d in self.params:
            if is_active(d.spec, values, inactive, action_space_kind) is False:
                inactive.add(d.name)
                continue
            values[d.name] = d.spec.sample(d.name, trial)
        return values

    def validate_params(
        self,
        params: Mapping[str, Any],
        action_space_kind: str | None = None,
        *,
        partial: bool = False,
    ) -> None:
        """Raise ``SpaceError`` unless ``params`` is a configuration of this space.

        Values of parameters that do not exist for these values are ignored. ``partial``
        allows missing parameters (a queued configuration the sampler completes).
        """
        self._active_values(params, action_space_kind, partial=partial)

    def _active_values(
        self, params: Mapping[str, Any], kind: str | None, *, partial: bool
    ) -> dict[str, Any]:
        if not isinstance(params, Mapping):
            raise SpaceError(
                f"a configuration must be a mapping of names to values, not {params!r}"
            )
        problems = [
            f"{name}: not a parameter of space {self.name} (it has: {', '.join(self.names)})"
            for name in params
            if name not in self.names
        ]
        values: dict[str, Any] = {}
        inactive: set[str] = set()
        for d in self.params:
            active = is_active(d.spec, values, inactive, kind)
            if active is False:
                inactive.add(d.name)
            elif d.name in params:
                reason = d.spec.contains(params[d.name])
                if reason is None:
                    values[d.name] = params[d.name]
                else:
                    problems.append(f"{d.name}: {reason}")
            elif isinstance(d.spec, FixedParam):
                values[d.name] = d.spec.value
            elif active and not partial:
                problems.append(f"{d.name}: missing")
        if problems:
            raise SpaceError(f"configuration outside space {self.name}: " + "; ".join(problems))
        return values

    # --- resolution -----------------------------------------------------------------------

    def resolve(
        self, params: Mapping[str, Any], action_space_kind: str, timesteps: int | None = None
    ) -> Resolution:
        """The ``TrainConfig`` for ``params`` in an env with this kind of action space.

        With ``timesteps`` (a training run's budget), the configuration is also made to fit
        it: no rollout or warm-up longer than the run (``constraints.fit_budget``).

        Declared constraints repair the configuration (noted in ``repairs``); one that cannot
        be repaired, or is outside the space, raises ``SpaceError``. Never returns an invalid
        combination.
        """
        kind = action_space_kind
        if kind not in catalog.ACTION_SPACE_KINDS:
            raise SpaceError(
                f"unknown action-space kind {kind!r} (use {', '.join(catalog.ACTION_SPACE_KINDS)})"
            )
        if kind not in catalog.SUPPORTED_KINDS[self.algo]:
            supported = ", ".join(sorted(catalog.SUPPORTED_KINDS[self.algo]))
            raise SpaceError(
                f"infeasible: {self.algo} cannot act in a {kind} action space "
                f"(it supports {supported}); pick another algorithm"
            )
        values = self._active_values(params, kind, partial=False)
        kwargs, env = to_sb3(self.algo, values)
        draft = Draft(self.algo, kind, kwargs, env)
        if timesteps is not None:
            fit_budget(draft, timesteps)
        for name, args in self.constraints:
            CONSTRAINTS[name].repair(draft, args)
        invariants.check(draft, dict(self.constraints))
        if draft.repairs:
            log.debug("space %s repaired a configuration: %s", self.name, draft.repairs)
        config = TrainConfig(
            algo=self.algo,
            policy=self.policy,
            sb3_kwargs=draft.kwargs,
            env=EnvSettings.from_dict(draft.env),
        )
        return Resolution(config=config, repairs=tuple(draft.repairs))


def _expand_normalize(values: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
    """``normalize: obs`` as the two switches, unless the space itself declares ``normalize``."""
    out = dict(values)
    if "normalize" in out and "normalize" not in declared:
        mode = out.pop("normalize")
        if mode not in catalog.NORMALIZE_MODES:
            modes = ", ".join(catalog.NORMALIZE_MODES)
            raise SpaceError(f"cannot fix 'normalize' to {mode!r}: use one of {modes}")
        out["normalize_obs"], out["normalize_reward"] = catalog.NORMALIZE_MODES[mode]
    return out


def _coerce(name: str, value: Any, spec: ParamSpec) -> Any:
    """``value`` as the type ``spec`` samples, or ``SpaceError`` saying what type to give."""
    if isinstance(spec, FloatParam):
        if not is_number(value):
            raise SpaceError(f"cannot fix {name!r} to {value!r}: give a number")
        return float(value)
    if isinstance(spec, IntParam):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not is_int(value):
            raise SpaceError(f"cannot fix {name!r} to {value!r}: give an integer")
    return value
