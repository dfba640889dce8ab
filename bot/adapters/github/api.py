"""The GitHub HTTP client fluxbot uses: gidgethub on aiohttp with GitHub's etiquette built in.

- ``X-GitHub-Api-Version`` pinned to :data:`API_VERSION` on every request;
- primary and secondary rate limits honoured (``Retry-After``, ``x-ratelimit-reset``; a 429 is a
  plain ``BadRequest`` in gidgethub, handled here too), waits bounded by ``max_wait``;
- content-creating requests (POST/PATCH/PUT/DELETE) paced ``write_interval`` apart per token;
- conditional GETs through gidgethub's ETag cache (a 304 costs no quota), in a bounded LRU
  (``cachetools.LRUCache``, given by the caller).

    >>> retry_delay(429, {"retry-after": "3"}, "", now=0.0)
    3.0
    >>> retry_delay(404, {}, "Not Found", now=0.0) is None
    True
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import aiohttp
from gidgethub import GitHubBroken, HTTPException
from gidgethub.aiohttp import GitHubAPI

from bot.adapters.archive import ArchiveLimits, read_archive
from bot.app.log import get_logger
from bot.core.errors import ForgeError
from bot.core.http import retry_after
from bot.core.model import PRState, PullRequest

API_VERSION = "2022-11-28"
USER_AGENT = "fluxbot"
# The gidgethub hooks GitHubClient overrides, and the release that introduced them (the floor in
# pyproject.toml: on an older gidgethub nothing would call them; tests/unit/test_gidgethub_floor.py)
GIDGETHUB_HOOKS = ("_request", "manage_rate_limit", "handle_rate_limit_error")
GIDGETHUB_HOOKS_SINCE = "6.0"
SECONDARY_WAIT = 60.0  # GitHub: "wait at least one minute" when no header says otherwise
_log = get_logger(__name__)
LISTENERS: list[Callable[[str], None]] = []
"""Process-wide observers of every GitHub request's outcome (ok, not_modified, error,
rate_limited): ``fluxbot serve`` counts them as ``fluxbot_forge_requests_total``."""


def _observe(outcome: str, own: Callable[[str], None] | None) -> None:
    if own is not None:
        own(outcome)
    for listener in LISTENERS:
        listener(outcome)


def retry_delay(status: int, headers: Mapping[str, str], message: str, now: float) -> float | None:
    """Seconds to wait before retrying a rate-limited response, or None when it is not one."""
    if status not in (403, 429):
        return None
    if headers.get("retry-after") is not None:
        wait = retry_after(headers.get("retry-after"), now)
        return SECONDARY_WAIT if wait is None else wait
    if headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(headers.get("x-ratelimit-reset", "")) - now) + 1.0
        except ValueError:
            return SECONDARY_WAIT
    if status == 429 or "rate limit" in message.lower():
        return SECONDARY_WAIT
    return None


class Pacer:
    """Spaces content-creating requests at least ``interval`` seconds apart."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        async with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = self._clock() + self.interval


class GitHubClient(GitHubAPI):
    """gidgethub's aiohttp client plus version pinning, pacing, rate-limit waits and retries."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        oauth_token: str | None = None,
        base_url: str = "https://api.github.com",
        cache: MutableMapping[str, Any] | None = None,
        pacer: Pacer | None = None,
        max_wait: float = 120.0,
        max_attempts: int = 4,
        on_request: Callable[[str], None] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            session, USER_AGENT, oauth_token=oauth_token, cache=cache, base_url=base_url
        )
        self._pacer = pacer or Pacer(0.0)
        self._max_wait = max_wait
        self._max_attempts = max_attempts
        self._on_request = on_request
        self._on_unauthorized = on_unauthorized

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        sent = dict(headers)
        sent["x-github-api-version"] = API_VERSION
        try:
            status, response_headers, data = await super()._request(method, url, sent, body)
        except (aiohttp.ClientError, TimeoutError) as exc:  # no traceback: its frames hold tokens
            _observe("error", self._on_request)
            where = url.split("?", 1)[0]
            raise ForgeError(f"GitHub {method} {where}: {type(exc).__name__}") from None
        if status == 401 and self._on_unauthorized is not None:  # e.g. a revoked token
            self._on_unauthorized()
        outcome = "not_modified" if status == 304 else "ok" if status < 400 else "error"
        _observe("rate_limited" if status in (403, 429) else outcome, self._on_request)
        return status, response_headers, data

    async def download(self, path: str, cap: int) -> bytes | None:
        """GET ``path`` following redirects (archive links go to another host, without our
        credentials); None on any failure or past ``cap`` bytes. For tarballs, not JSON."""
        headers = {
            "user-agent": USER_AGENT,
            "accept": "application/vnd.github+json",
            "x-github-api-version": API_VERSION,
        }
        if self.oauth_token:
            headers["authorization"] = f"token {self.oauth_token}"
        try:
            async with self._session.get(self.base_url + path, headers=headers) as response:
                _observe("ok" if response.status == 200 else "error", self._on_request)
                if response.status != 200:
                    return None
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(256 * 1024):
                    size += len(chunk)
                    if size > cap:
                        return None
                    chunks.append(chunk)
                return b"".join(chunks)
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def manage_rate_limit(self, *, method: str, url: str) -> None:
        limit = self.rate_limit  # gidgethub counted this request already: -1 means none left
        if limit is not None and limit.remaining < 0:
            wait = limit.reset_datetime.timestamp() - time.time() + 1.0
            if 0 < wait <= self._max_wait:
                _log.warning("github.quota_wait", wait=round(wait, 1))
                await self.sleep(wait)
                limit.remaining = limit.limit  # the window reset; the next response corrects it
        if method != "GET":
            await self._pacer.wait()

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: HTTPException, attempt: int
    ) -> bool:
        if attempt >= self._max_attempts:
            return False
        message = str(exception)
        delay = retry_delay(exception.status_code, exception.headers or {}, message, time.time())
        if delay is None and isinstance(exception, GitHubBroken) and method == "GET":
            delay = min(8.0, 0.5 * 2 ** (attempt - 1))  # transient 5xx on an idempotent read
        if delay is None or delay > self._max_wait:
            return False
        _log.warning(
            "github.retry", method=method, status=int(exception.status_code), wait=round(delay, 1)
        )
        await self.sleep(delay)
        return True


def blob_sha(text: str) -> str:
    """Git's object id of a blob holding ``text`` (UTF-8)."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def pull_request(data: Mapping[str, Any]) -> PullRequest:
    """Our :class:`PullRequest` from GitHub's JSON."""
    if data.get("merged_at") or data.get("merged"):
        state = PRState.MERGED
    elif data.get("state") == "open":
        state = PRState.OPEN
    else:
        state = PRState.CLOSED
    return PullRequest(
        number=int(data["number"]),
        branch=str(data["head"]["ref"]),
        base=str(data["base"]["ref"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=state,
        head_sha=str(data["head"].get("sha") or ""),
        merge_sha=data.get("merge_commit_sha") if state is PRState.MERGED else None,
        url=str(data.get("html_url") or ""),
        author=str((data.get("user") or {}).get("login") or ""),
        labels=tuple(str(label["name"]) for label in data.get("labels") or ()),
    )


def extract_texts(
    archive: bytes, wanted: Mapping[str, str], limits: ArchiveLimits
) -> dict[str, str]:
    """UTF-8 texts of the ``wanted`` paths (path → blob sha) in a GitHub tarball, each checked
    against its blob sha. Raises :class:`ArchiveUnusable` past ``limits`` or when malformed."""
    texts = read_archive([archive], wanted.__contains__, limits)
    return {path: text for path, text in texts.items() if blob_sha(text) == wanted[path]}
