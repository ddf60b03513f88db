"""A small client of the HTTP API (standard library only: the CLI side needs no extra).

Every failure becomes an ``ApiError`` whose message says what to change: the server's own
``detail`` for a refusal, the address and the cause when the server cannot be reached.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from autorl.errors import AutoRLError

DEFAULT_API_URL = "http://127.0.0.1:8000"


class ApiError(AutoRLError):
    """The API refused a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0):
        from autorl.settings import current

        values = current()
        secret = values.api_token.get_secret_value() if values.api_token else None
        self.url = (url or values.api_url or DEFAULT_API_URL).rstrip("/")
        self.token = token if token is not None else secret
        self.timeout = timeout

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/v1/studies", body)

    def study(self, study_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/studies/{urllib.parse.quote(study_id, safe='')}")

    def studies(self) -> list[dict[str, Any]]:
        return self._request("GET", "/v1/studies")["data"]

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(_refusal(exc), exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(
                f"cannot reach the autorl API at {self.url} ({reason}); start it with "
                "`autorl serve` or pass --api URL (or set AUTORL_API_URL)"
            ) from None


def _refusal(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError):
        detail = None
    hint = ""
    if exc.code == 401:
        hint = " (pass --token or set AUTORL_API_TOKEN)"
    return f"the API answered {exc.code}: {detail or exc.reason}{hint}"
