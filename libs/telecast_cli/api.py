"""The telecast HTTP API as the CLI uses it: the envelope unwrapped, its errors raised as
``ApiError``, and the access token refreshed once when a call answers 401."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from telecast_cli import credentials as stored
from telecast_cli.credentials import Credentials


class ApiError(Exception):
    """A refusal in the API's envelope (``code``, ``message``), or a failure to reach it."""

    def __init__(self, code: str, message: str, status: int = 0, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details = details


def error_of(response: httpx.Response) -> ApiError:
    """The error an answer that is not a success stands for."""
    try:
        body = response.json()
        error = body["error"]
        return ApiError(
            str(error["code"]), str(error["message"]), response.status_code, error.get("details")
        )
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:200] or response.reason_phrase
        return ApiError("HTTP_ERROR", f"{response.status_code}: {text}", response.status_code)


def data_of(response: httpx.Response) -> Any:
    """The ``data`` of a successful answer in the envelope; ``ApiError`` otherwise."""
    if not response.is_success:
        raise error_of(response)
    try:
        return response.json()["data"]
    except (ValueError, KeyError, TypeError):
        raise ApiError("BAD_ANSWER", "the API answered outside its envelope") from None


def login(url: str, email: str, password: str, timeout: float = 30) -> Credentials:
    try:
        answer = httpx.post(
            f"{url.rstrip('/')}/api/v1/auth/login",
            json={"email": email, "password": password},
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        raise ApiError("CONNECTION_FAILED", f"cannot reach {url}: {error}") from None
    tokens = data_of(answer)
    return Credentials(url.rstrip("/"), email, tokens["accessToken"], tokens["refreshToken"])


class Api:
    """Calls on behalf of the logged-in operator; new tokens are saved to ``path``."""

    def __init__(self, credentials: Credentials, path: Path | None, timeout: float = 30) -> None:
        self.credentials = credentials
        self.path = path
        self.http = httpx.Client(base_url=credentials.url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.access_token}", **(extra or {})}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request (``json``, ``params``… as httpx takes them); the answer's ``data``."""
        return data_of(self._send(method, path, **kwargs))

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", None)
        try:
            answer = self.http.request(method, path, headers=self._headers(headers), **kwargs)
            if answer.status_code == 401 and self.refresh():
                answer = self.http.request(method, path, headers=self._headers(headers), **kwargs)
        except httpx.HTTPError as error:
            raise ApiError(
                "CONNECTION_FAILED", f"cannot reach {self.credentials.url}: {error}"
            ) from None
        return answer

    def ensure_fresh(self) -> None:
        """Make sure the access token works (refreshing it if not) before a request that
        cannot be sent twice, such as a streamed upload."""
        self.call("GET", "/api/v1/auth/me")

    def refresh(self) -> bool:
        """A new token pair from the refresh token, saved; False if it was refused."""
        try:
            answer = self.http.post(
                "/api/v1/auth/refresh", json={"refreshToken": self.credentials.refresh_token}
            )
        except httpx.HTTPError:
            return False
        if not answer.is_success:
            return False
        tokens = answer.json()["data"]
        self.credentials.access_token = tokens["accessToken"]
        self.credentials.refresh_token = tokens["refreshToken"]
        if self.path is not None:
            stored.save(self.credentials, self.path)
        return True

    @contextmanager
    def stream(self, path: str, read_timeout: float = 60) -> Iterator[Iterator[str]]:
        """The lines of a streamed answer (Server-Sent Events); ``ApiError`` if it is refused
        before it starts."""
        self.ensure_fresh()
        timeout = httpx.Timeout(self.http.timeout.connect, read=read_timeout)
        headers = self._headers({"Accept": "text/event-stream"})
        try:
            with self.http.stream("GET", path, headers=headers, timeout=timeout) as answer:
                if not answer.is_success:
                    answer.read()
                    raise error_of(answer)
                yield answer.iter_lines()
        except httpx.HTTPError as error:
            raise StreamBroken(str(error) or type(error).__name__) from None


class StreamBroken(Exception):
    """A stream that started and then failed (connection lost, timeout)."""
