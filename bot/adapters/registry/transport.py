"""HTTP for the registry client: guard, auth, limits, retries, redirects, size caps, counters.

One :meth:`Transport.request` call is one logical request: it may retry transient failures
(5xx, 429, connect/read timeouts) with bounded exponential backoff and jitter honouring
``Retry-After``, answer one 401 challenge, and follow redirects (without ``Authorization``, each
target checked by the SSRF guard). Bodies are read up to a cap. Nothing here logs a credential.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from bot.adapters.registry.auth import Authenticator
from bot.adapters.registry.credentials import Credentials
from bot.adapters.registry.guard import Guard, host_port, pin_connections
from bot.adapters.registry.protocol import parse_ratelimit
from bot.adapters.registry.tls import verifying_context
from bot.core.errors import AuthError, RateLimitError, RegistryError
from bot.core.http import retry_after as http_retry_after

__all__ = ["Response", "Retry", "Stats", "Transport"]


def _log() -> Any:
    """The module logger, imported on first use (structlog costs ~0.1 s of start-up)."""
    from bot.app.log import get_logger

    return get_logger(__name__)


TRANSIENT_STATUS = frozenset({500, 502, 503, 504, 429})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


@dataclass
class Stats:
    """Counters: ``requests[kind]`` (token, tags, manifest, blob, ping), retries, cache hits."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    redirects: int = 0
    cache_hits: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass(frozen=True)
class Retry:
    """Retry budget: ``attempts`` retries after the first try, backoff ``base``·2ⁿ ≤ ``cap``."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 10.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, jitter: float) -> float:
        """Equal-jitter exponential backoff: half fixed, half random (``jitter`` in [0, 1))."""
        delay = min(self.cap, self.base * 2.0**attempt)
        return delay / 2 + delay / 2 * jitter


@dataclass(frozen=True)
class Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str


class _TooLarge(Exception):
    pass


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The verifying TLS context, one per process; CA certificates load at the first handshake.

    Honours ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as httpx does; proxies from the environment
    (``HTTPS_PROXY``, ``NO_PROXY``) stay httpx's business too.
    """
    return verifying_context(os.environ)


class _HostLimiter:
    """Per-registry concurrency (semaphore) and request rate (token bucket, burst = 1 s)."""

    def __init__(
        self,
        concurrency: int,
        rate: float | None,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.semaphore = asyncio.Semaphore(concurrency)
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._burst = max(1.0, rate or 1.0)
        self._tokens = self._burst
        self._last = clock()

    async def pace(self) -> None:
        if not self._rate:
            return
        while True:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await self._sleep((1 - self._tokens) / self._rate)


class Transport:
    """Sends registry requests; see the module docstring for what one request includes."""

    def __init__(
        self,
        guard: Guard,
        credentials: Credentials | None,
        *,
        concurrency: int,
        rate: float | None,
        host_rates: Mapping[str, float],
        retry: Retry,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
        jitter: Callable[[], float],
        timeout: float,
        http_transport: httpx.AsyncBaseTransport | None,
        min_ratelimit_remaining: int,
    ) -> None:
        self.guard = guard
        self.stats = Stats()
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._concurrency = concurrency
        self._rate = rate
        self._host_rates = dict(host_rates)
        self._min_remaining = min_ratelimit_remaining
        self._limiters: dict[str, _HostLimiter] = {}
        self._remaining: dict[str, tuple[int, int | None]] = {}
        self._pinged: set[str] = set()
        self._ping_locks: dict[str, asyncio.Lock] = {}
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
            transport=http_transport,
            verify=_tls_context(),
            limits=limits,
            headers={"User-Agent": "fluxbot"},
        )
        if http_transport is None:
            pin_connections(self._client, guard)  # DNS rebinding: check the address reached
        self.auth = Authenticator(credentials, self._token_fetch, clock)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _limiter(self, host: str) -> _HostLimiter:
        if host not in self._limiters:
            bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            rate = self._host_rates.get(host, self._host_rates.get(bare, self._rate))
            self._limiters[host] = _HostLimiter(self._concurrency, rate, self._clock, self._sleep)
        return self._limiters[host]

    async def _token_fetch(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        resp = await self.request(
            method,
            url,
            kind="token",
            host=host_port(url),
            what="token",
            headers=headers,
            body=body,
            max_bytes=1 << 20,
            scope=None,
        )
        return resp.status, resp.body

    def remaining(self, host: str) -> tuple[int, int | None] | None:
        """Last ``ratelimit-remaining`` seen from ``host`` as (remaining, window seconds)."""
        return self._remaining.get(host)

    def check_pull_budget(self, host: str, what: str) -> None:
        """Refuse a counted pull (manifest GET) once the registry said the budget is used up."""
        known = self._remaining.get(host)
        if known is not None and known[0] <= self._min_remaining:
            window = f" (window {known[1]} s)" if known[1] else ""
            raise RateLimitError(
                f"{host}: pull rate limit reached, {known[0]} pulls left{window}; "
                f"stopped before {what}"
            )

    async def request(
        self,
        method: str,
        url: str,
        *,
        kind: str,
        host: str,
        what: str,
        max_bytes: int,
        scope: str | None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """One logical request to ``host`` (see module docstring); ``what`` names it in errors."""
        base_headers = dict(headers or {})
        if scope is not None:
            await self._ping(url, host)
        auth_value = await self.auth.header(host, scope) if scope is not None else None
        challenged = False
        attempt = 0
        while True:
            sent_headers = dict(base_headers)
            if auth_value is not None:
                sent_headers["Authorization"] = auth_value
            try:
                resp = await self._send_following(
                    method, url, sent_headers, body, kind, host, what, max_bytes
                )
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "WRONG_VERSION_NUMBER" in str(exc):
                    raise RegistryError(
                        f"{host}: TLS failed for {what} (certificate not trusted, or the "
                        f"registry speaks plain HTTP: see --insecure-registry)"
                    ) from None
                if attempt >= self._retry.attempts:
                    raise RegistryError(
                        f"{host}: {what} failed after {attempt + 1} tries "
                        f"({exc.__class__.__name__})"
                    ) from None
                await self._wait(attempt, None, host, what, exc.__class__.__name__)
                attempt += 1
                continue
            except httpx.HTTPError as exc:  # not transient: bad URL, undecodable body, ...
                raise RegistryError(f"{host}: {what} failed ({exc.__class__.__name__})") from None
            self._note_ratelimit(host, resp)
            if resp.status == 401 and scope is not None:
                if challenged:
                    raise AuthError(f"{host} refused access to {what} (HTTP 401)")
                challenged = True
                auth_value = await self.auth.challenged(
                    host, scope, resp.headers.get_list("www-authenticate"), auth_value is not None
                )
                continue
            if resp.status in TRANSIENT_STATUS:
                self._raise_if_exhausted_pulls(host, resp, what)
                retry_after = http_retry_after(resp.headers.get("retry-after"), time.time())
                if retry_after is not None and retry_after > self._retry.max_retry_after:
                    raise RateLimitError(
                        f"{host}: asked to retry {what} after {retry_after:.0f} s, more than "
                        f"the {self._retry.max_retry_after:.0f} s allowed"
                    )
                if attempt >= self._retry.attempts:
                    error = RateLimitError if resp.status == 429 else RegistryError
                    raise error(
                        f"{host}: {what} failed after {attempt + 1} tries (HTTP {resp.status})"
                    )
                await self._wait(attempt, retry_after, host, what, f"HTTP {resp.status}")
                attempt += 1
                continue
            return resp

    async def _ping(self, url: str, host: str) -> None:
        """``GET /v2/`` once per host (single flight) to learn its auth challenge up front."""
        if host in self._pinged:
            return
        lock = self._ping_locks.setdefault(host, asyncio.Lock())
        async with lock:
            if host in self._pinged:
                return
            parts = urlsplit(url)
            try:
                resp = await self._send_following(
                    "GET",
                    f"{parts.scheme}://{parts.netloc}/v2/",
                    {},
                    None,
                    "ping",
                    host,
                    "API version check",
                    1 << 16,
                )
            except httpx.HTTPError:
                return  # the real request retries and reports
            except RegistryError:
                resp = None
            self._pinged.add(host)
            if resp is not None and resp.status == 401:
                self.auth.learn(host, resp.headers.get_list("www-authenticate"))

    def _note_ratelimit(self, host: str, resp: Response) -> None:
        limit = parse_ratelimit(resp.headers.get("ratelimit-remaining"))
        if limit is not None:
            self._remaining[host] = (limit.remaining, limit.window)

    def _raise_if_exhausted_pulls(self, host: str, resp: Response, what: str) -> None:
        limit = parse_ratelimit(resp.headers.get("ratelimit-remaining"))
        if resp.status == 429 and limit is not None and limit.remaining <= 0:
            window = f" (window {limit.window} s)" if limit.window else ""
            raise RateLimitError(f"{host}: pull rate limit exhausted{window} while fetching {what}")

    async def _wait(
        self, attempt: int, retry_after: float | None, host: str, what: str, reason: str
    ) -> None:
        delay = (
            retry_after if retry_after is not None else self._retry.backoff(attempt, self._jitter())
        )
        delay = min(delay, self._retry.max_retry_after)
        self.stats.retries += 1
        _log().info("registry.retry", host=host, what=what, reason=reason, delay=round(delay, 3))
        await self._sleep(delay)

    async def _send_following(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        kind: str,
        host: str,
        what: str,
        max_bytes: int,
    ) -> Response:
        for _ in range(MAX_REDIRECTS + 1):
            await self.guard.check(url)
            if host_port(url) != host:
                headers.pop("Authorization", None)
            resp = await self._send_once(method, url, headers, body, kind, host, what, max_bytes)
            location = resp.headers.get("location")
            if resp.status not in REDIRECT_STATUS or not location:
                return resp
            self.stats.redirects += 1
            url = urljoin(url, location)
            headers.pop("Authorization", None)  # never across a redirect, same host or not
            if resp.status == 303 and method != "HEAD":
                method, body = "GET", None
        raise RegistryError(f"{host}: too many redirects for {what}")

    async def _send_once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        kind: str,
        host: str,
        what: str,
        max_bytes: int,
    ) -> Response:
        limiter = self._limiter(host_port(url))
        await limiter.pace()
        async with limiter.semaphore:
            self.stats.requests[kind] += 1
            request = self._client.build_request(method, url, headers=headers, content=body)
            resp = await self._client.send(request, stream=True)
            try:
                data = await _read_capped(resp, max_bytes)
            except _TooLarge:
                raise RegistryError(
                    f"{host}: {what} is larger than {max_bytes} bytes; refusing it"
                ) from None
            finally:
                await resp.aclose()
            return Response(resp.status_code, resp.headers, data, str(resp.url))


async def _read_capped(resp: httpx.Response, max_bytes: int) -> bytes:
    length = resp.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise _TooLarge
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.aiter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
