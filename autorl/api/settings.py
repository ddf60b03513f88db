"""Settings of the HTTP API: storage, write token, read policy and limits on submissions,
read from the environment by ``autorl.settings`` (the one place every variable is read)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from autorl.errors import AutoRLError
from autorl.settings import current

# Tokens that look like a template's default: refused outside development.
PLACEHOLDER_TOKENS = frozenset(
    {"", "change-me", "changeme", "change_me", "changethis", "secret", "token", "password"}
)
MIN_TOKEN_LENGTH = 12
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
        """Settings from ``AUTORL_STORAGE`` and ``AUTORL_API_*`` (``autorl.settings``; default:
        the process environment), ``storage_url`` overriding."""
        values = current(env)
        data: dict[str, object] = {
            "storage_url": storage_url or values.storage_url,
            "token": values.api_token,
            "dev": values.api_dev,
            "open_reads": values.api_open_reads,
            "max_timesteps": values.api_max_timesteps,
            "max_trials": values.api_max_trials,
            "max_concurrent_studies": values.api_max_concurrent_studies,
            "allowed_entry_points": values.entry_points,
        }
        try:
            return cls.model_validate(data)
        except ValidationError as exc:  # said without echoing the values (the token is one)
            problems = [
                f"{ENV_NAMES.get(e['loc'][0], e['loc'][0]) + ': ' if e['loc'] else ''}"
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in exc.errors()
            ]
            raise AutoRLError("API settings: " + "; ".join(problems)) from None
