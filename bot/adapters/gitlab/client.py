"""python-gitlab plumbing for :mod:`bot.adapters.gitlab.forge`: a bounded thread pool, one client
per
thread, rate-limit handling and error translation.

python-gitlab is synchronous (requests). Every call runs on a dedicated
:class:`~concurrent.futures.ThreadPoolExecutor` of ``workers`` threads (bounded, so a burst of jobs
cannot open unbounded connections to GitLab), and each thread owns its own ``gitlab.Gitlab`` client
because a ``requests.Session`` is not documented as thread-safe. ``asyncio.to_thread`` would use
the loop's shared default executor, which other code sizes and fills; a private executor keeps the
bound ours.

Rate limits, both ways:

- reactive: python-gitlab's own retry loop (``obey_rate_limit``) sleeps on 429 for ``Retry-After``
  (or until ``RateLimit-Reset``; an HTTP-date ``Retry-After`` is rewritten to seconds first, since
  python-gitlab parses it with ``int()``), and ``retry_transient_errors`` retries 5xx/timeouts
  with backoff; ``max_retries`` bounds both. A ``Retry-After`` longer than ``max_wait`` is not
  slept: the request fails with :class:`bot.core.errors.RateLimitError` at once.
- proactive: every response's ``RateLimit-Remaining``/``RateLimit-Reset`` is recorded; when the
  budget is spent, the next request waits for the reset (again at most ``max_wait``).

    pool = GitLabPool("https://gitlab.com", token, workers=4)
    name = await pool.run(lambda gl: gl.projects.get("g/p").default_branch)
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import gitlab
import gitlab.exceptions
import requests
from requests.adapters import HTTPAdapter

from bot.core.errors import ForgeError, RateLimitError
from bot.core.http import retry_after

T = TypeVar("T")
USER_AGENT = "fluxbot (+https://github.com/fluxbot)"


def retry_after_seconds(value: str | None, now: float) -> int | None:
    """:func:`bot.core.http.retry_after` in whole seconds, as python-gitlab reads it."""
    seconds = retry_after(value, now)
    return None if seconds is None else math.ceil(seconds)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RateBudget:
    """What GitLab's ``RateLimit-*`` headers last said; shared by every thread of one pool."""

    def __init__(
        self,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._remaining: float | None = None
        self._reset: float | None = None
        self.waited = 0.0

    def now(self) -> float:
        """The budget's clock (wall time, as ``RateLimit-Reset`` and HTTP-dates are)."""
        return self._clock()

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Record a response's budget; refuse a 429 whose ``Retry-After`` exceeds ``max_wait``."""
        remaining = _number(headers.get("RateLimit-Remaining"))
        reset = _number(headers.get("RateLimit-Reset"))
        with self._lock:
            if remaining is not None:
                self._remaining, self._reset = remaining, reset
        if status == 429:
            after: float | None = retry_after_seconds(headers.get("Retry-After"), self._clock())
            if after is None and reset is not None:
                after = reset - self._clock()
            if after is not None and after > self.max_wait:
                raise RateLimitError(
                    f"gitlab rate limit: retry after {after:.0f}s exceeds {self.max_wait:.0f}s"
                )

    def pause(self) -> None:
        """Before a request: wait for the reset when the last response said nothing is left."""
        with self._lock:
            remaining, reset = self._remaining, self._reset
        if remaining is None or remaining > 0 or reset is None:
            return
        wait = reset - self._clock()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise RateLimitError(f"gitlab rate limit spent; resets in {wait:.0f}s")
        self.waited += wait
        self._sleep(wait)
        with self._lock:
            if self._reset == reset:
                self._remaining = None


class _BudgetAdapter(HTTPAdapter):
    """A requests transport that consults the :class:`RateBudget` around every request."""

    def __init__(self, budget: RateBudget) -> None:
        super().__init__(max_retries=0)
        self._budget = budget

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self._budget.pause()
        response = super().send(request, *args, **kwargs)
        raw = response.headers.get("Retry-After")
        if raw is not None:
            # python-gitlab reads it with int(): an HTTP-date (or "1.5") would raise ValueError
            # out of its retry loop. Hand it whole delta-seconds; drop what cannot be parsed.
            seconds = retry_after_seconds(raw, self._budget.now())
            if seconds is None:
                del response.headers["Retry-After"]
            else:
                response.headers["Retry-After"] = str(seconds)
        self._budget.observe(response.status_code, response.headers)
        return response


class _Client(gitlab.Gitlab):
    """python-gitlab with a bounded retry count (its default is 10 per request)."""

    max_retries = 5

    def http_request(self, verb: str, path: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("obey_rate_limit", True)
        kwargs.setdefault("max_retries", self.max_retries)
        return super().http_request(verb, path, *args, **kwargs)


def make_client(
    url: str, token: str, budget: RateBudget, timeout: float = 30.0, max_retries: int = 5
) -> gitlab.Gitlab:
    """One python-gitlab client with our retry policy and rate-limit transport."""
    client = _Client(
        url,
        private_token=token,
        timeout=timeout,
        retry_transient_errors=True,
        user_agent=USER_AGENT,
        per_page=100,
    )
    client.max_retries = max_retries
    adapter = _BudgetAdapter(budget)
    client.session.mount("http://", adapter)
    client.session.mount("https://", adapter)
    return client


def forge_error(op: str, exc: BaseException) -> ForgeError:
    """A :class:`ForgeError` naming the operation and GitLab's answer (never a credential)."""
    if isinstance(exc, RateLimitError):
        return ForgeError(f"gitlab {op}: {exc}")
    if isinstance(exc, gitlab.exceptions.GitlabAuthenticationError):
        return ForgeError(f"gitlab {op}: authentication failed (401): check FLUXBOT_GITLAB_TOKEN")
    if isinstance(exc, gitlab.exceptions.GitlabError):
        code = exc.response_code or "?"
        return ForgeError(f"gitlab {op}: HTTP {code}: {str(exc.error_message)[:200]}")
    if isinstance(exc, requests.RequestException):
        return ForgeError(f"gitlab {op}: {type(exc).__name__}")
    return ForgeError(f"gitlab {op}: {type(exc).__name__}: {exc}")


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a python-gitlab error, if it has one."""
    if isinstance(exc, gitlab.exceptions.GitlabError):
        return exc.response_code
    return None


class GitLabPool:
    """A bounded executor whose threads each hold one ``gitlab.Gitlab`` client."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        workers: int = 4,
        timeout: float = 30.0,
        max_retries: int = 5,
        budget: RateBudget | None = None,
    ) -> None:
        self.url = url
        self._token = token
        self._timeout = timeout
        self._max_retries = max_retries
        self.budget = budget or RateBudget()
        self._local = threading.local()
        self._clients: list[gitlab.Gitlab] = []
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gitlab")

    def __repr__(self) -> str:
        return f"GitLabPool(url={self.url!r})"

    def _client(self) -> gitlab.Gitlab:
        client: gitlab.Gitlab | None = getattr(self._local, "client", None)
        if client is None:
            client = make_client(
                self.url, self._token, self.budget, self._timeout, self._max_retries
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _invoke(self, fn: Callable[[gitlab.Gitlab], T]) -> T:
        return fn(self._client())

    async def run(self, fn: Callable[[gitlab.Gitlab], T]) -> T:
        """Run ``fn(client)`` on a pool thread (with the caller's context variables)."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, ctx.run, self._invoke, fn)

    def close(self) -> None:
        """Stop the threads and close every client's connections."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.session.close()


async def token_username(url: str, token: str, timeout: float = 10.0) -> str:
    """The username ``token`` acts as on GitLab (``GET /user``), e.g. ``project_42_bot_1a2b``."""
    pool = GitLabPool(url, token, workers=1, timeout=timeout, max_retries=1)

    def me(gl: gitlab.Gitlab) -> str:
        gl.auth()
        return str(gl.user.username) if gl.user else ""

    try:
        return await pool.run(me)
    except Exception as exc:
        raise forge_error("get current user", exc) from exc
    finally:
        await asyncio.get_running_loop().run_in_executor(None, pool.close)
