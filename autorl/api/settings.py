"""Settings of the HTTP API: storage, write token, read policy and limits on submissions."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from autorl.config import default_storage_url
from autorl.errors import AutoRLError

# Tokens that look like a template's default: refused outside development.
PLACEHOLDER_TOKENS = frozenset(
    {"", "change-me", "changeme", "change_me", "changethis", "secret", "token", "password"}
)
MIN_TOKEN_LENGTH = 12
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")
ENV_NAMES = {
    "storage_url": "AUTORL_STORAGE",
    "token": "AUTORL_API_TOKEN",
    "dev": "AUTORL_API_DEV",
    "open_reads": "AUTORL_API_OPEN_READS",
    "max_timesteps": "AUTORL_API_MAX_TIMESTEPS",
    "max_trials": "AUTORL_API_MAX_TRIALS",
    "max_concurrent_studies": "AUTORL_API_MAX_CONCURRENT_STUDIES",
    "allowed_entry_points": "AUTORL_API_ENTRY_POINTS",
}


class ApiSettings(BaseModel):
    """What ``autorl serve`` needs. ``token`` guards every write (and reads unless open)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    storage_url: str = Field(min_length=1)
    token: SecretStr | None = None
    dev: bool = False  # development: a placeholder (or no) token is accepted
    open_reads: bool = True
    max_timesteps: int = Field(default=10_000_000, ge=100, le=1_000_000_000)
    max_trials: int = Field(default=10_000, ge=1, le=100_000)
    max_concurrent_studies: int = Field(default=100, ge=1)
    allowed_entry_points: list[str] = Field(default_factory=list)  # module prefixes

    @model_validator(mode="after")
    def _refuse_placeholder_token(self) -> ApiSettings:
        if self.dev:
            return self
        value = "" if self.token is None else self.token.get_secret_value()
        if value.strip().lower() in PLACEHOLDER_TOKENS or len(value) < MIN_TOKEN_LENGTH:
            raise ValueError(
                "AUTORL_API_TOKEN must be set to a secret of at least "
                f"{MIN_TOKEN_LENGTH} characters (not a placeholder such as 'change-me'); "
                "generate one with `python -c 'import secrets; print(secrets.token_urlsafe())'`, "
                "or set AUTORL_API_DEV=1 for local development"
            )
        return self

    @property
    def token_value(self) -> str:
        """The write token, or "" when none is set (development only)."""
        return "" if self.token is None else self.token.get_secret_value()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, storage_url: str | None = None
    ) -> ApiSettings:
        """Settings from ``AUTORL_STORAGE`` and ``AUTORL_API_*`` (``storage_url`` overrides)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "storage_url": storage_url or env.get("AUTORL_STORAGE") or default_storage_url(),
            "token": env.get("AUTORL_API_TOKEN"),
            "dev": _flag(env, "AUTORL_API_DEV", False),
            "open_reads": _flag(env, "AUTORL_API_OPEN_READS", True),
            "allowed_entry_points": [
                p.strip() for p in env.get("AUTORL_API_ENTRY_POINTS", "").split(",") if p.strip()
            ],
        }
        for field in ("max_timesteps", "max_trials", "max_concurrent_studies"):
            name = ENV_NAMES[field]
            if env.get(name):
                values[field] = _integer(env, name)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:  # said without echoing the values (the token is one)
            problems = [
                f"{ENV_NAMES.get(e['loc'][0], e['loc'][0]) + ': ' if e['loc'] else ''}"
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors()
            ]
            raise AutoRLError("API settings: " + "; ".join(problems)) from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise AutoRLError(f"{name}={raw!r}: use 1/0, true/false, yes/no or on/off")


def _integer(env: Mapping[str, str], name: str) -> int:
    raw = env[name]
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise AutoRLError(f"{name}={raw!r} is not an integer") from None
