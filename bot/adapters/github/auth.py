"""GitHub App authentication: the App JWT and installation access tokens, cached.

    cache = TokenCache()
    token = await cache.installation_token(gh, app_id="1", private_key=pem, installation_id=42)

Installation tokens live one hour; a cached token is reused until ``margin`` seconds (default five
minutes) before it expires. The cache is per process and keyed by API URL, App and installation.
Tokens are never logged nor put in an exception message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from gidgethub import HTTPException
from gidgethub.abc import GitHubAPI
from gidgethub.apps import get_installation_access_token, get_jwt

from bot.app.settings import Settings
from bot.core.errors import ForgeError


@dataclass(frozen=True)
class InstallationToken:
    token: str = field(repr=False)
    expires_at: float  # epoch seconds


def parse_expiry(value: str) -> float:
    """``2016-07-11T22:14:10Z`` → epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class TokenCache:
    """Installation tokens per (api url, app id, installation id), refreshed before expiry."""

    def __init__(self, margin: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self._tokens: dict[tuple[str, str, int], InstallationToken] = {}
        self._locks: dict[tuple[str, str, int], asyncio.Lock] = {}
        self._margin = margin
        self._clock = clock

    async def installation_token(
        self, gh: GitHubAPI, *, app_id: str, private_key: str, installation_id: int
    ) -> str:
        """A valid token for ``installation_id`` (from the cache when it has ``margin`` left)."""
        key = (gh.base_url, app_id, installation_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached and cached.expires_at - self._clock() > self._margin:
                return cached.token
            try:
                data = await get_installation_access_token(
                    gh,
                    installation_id=str(installation_id),
                    app_id=app_id,
                    private_key=private_key,
                )
            except HTTPException as exc:
                raise ForgeError(
                    f"GitHub refused an installation token for installation {installation_id}: "
                    f"HTTP {exc.status_code}"
                ) from None
            token = InstallationToken(str(data["token"]), parse_expiry(str(data["expires_at"])))
            self._tokens[key] = token
            return token.token

    def forget(self, gh_base_url: str, app_id: str, installation_id: int) -> None:
        """Drop a token GitHub no longer accepts (e.g. after a 401)."""
        self._tokens.pop((gh_base_url, app_id, installation_id), None)


DEFAULT_TOKENS = TokenCache()
"""The process's token cache (``open_forge`` uses it unless given another)."""


def app_jwt(app_id: str, private_key: str) -> str:
    """A fresh App JWT (ten minutes, backdated a minute for clock drift)."""
    return get_jwt(app_id=app_id, private_key=private_key)


async def installation_for(gh: GitHubAPI, repo: str, *, app_id: str, private_key: str) -> int:
    """The App's installation id on ``repo`` ("owner/name")."""
    try:
        data: dict[str, Any] = await gh.getitem(
            f"/repos/{repo}/installation", jwt=app_jwt(app_id, private_key)
        )
    except HTTPException as exc:
        message = f"the GitHub App is not installed on {repo}: HTTP {exc.status_code}"
        raise ForgeError(message) from None
    return int(data["id"])


async def installations(gh: GitHubAPI, *, app_id: str, private_key: str) -> AsyncIterator[int]:
    """Every installation id of the App."""
    token = app_jwt(app_id, private_key)
    async for inst in gh.getiter("/app/installations?per_page=100", jwt=token):
        yield int(inst["id"])


async def installation_repositories(gh: GitHubAPI, token: str) -> AsyncIterator[str]:
    """Every repository ("owner/name") an installation token can access."""
    async for repo in gh.getiter(
        "/installation/repositories?per_page=100", oauth_token=token, iterable_key="repositories"
    ):
        yield str(repo["full_name"])


def app_repositories(
    settings: Settings, tokens: TokenCache | None = None
) -> Callable[[], AsyncIterator[tuple[str, str, int | None]]]:
    """A scheduler source: ("github", repo, installation id) for every repository of the App."""

    async def source() -> AsyncIterator[tuple[str, str, int | None]]:
        from bot.adapters.github.api import GitHubClient

        app_id, key = settings.github_app_id, settings.github_private_key
        if not app_id or not key:
            return
        cache = tokens or DEFAULT_TOKENS
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            gh = GitHubClient(session, base_url=settings.github_api_url)
            async for inst in installations(gh, app_id=app_id, private_key=key):
                token = await cache.installation_token(
                    gh, app_id=app_id, private_key=key, installation_id=inst
                )
                async for repo in installation_repositories(gh, token):
                    yield "github", repo, inst

    return source


def token_repositories(
    settings: Settings, repositories: Sequence[str]
) -> Callable[[], AsyncIterator[tuple[str, str, int | None]]]:
    """A scheduler source for token mode (no App to enumerate installations): the configured
    ``repositories`` ("owner/name", e.g. from ``FLUXBOT_GITHUB_REPOSITORIES``)."""

    async def source() -> AsyncIterator[tuple[str, str, int | None]]:
        for repo in repositories:
            yield "github", repo, None

    return source


async def token_login(settings: Settings) -> str | None:
    """The login of ``github_token``'s user (``GET /user``), which its own events carry as
    sender; None without a token."""
    from bot.adapters.github.api import GitHubClient

    token = settings.github_token
    if not token:
        return None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        gh = GitHubClient(session, base_url=settings.github_api_url, oauth_token=token)
        try:
            data: dict[str, Any] = await gh.getitem("/user")
        except HTTPException as exc:
            raise ForgeError(
                f"GitHub refused the token for GET /user: HTTP {exc.status_code}"
            ) from None
    return str(data["login"])


async def app_login(settings: Settings) -> str | None:
    """The App's bot login (``<slug>[bot]``), which its own events carry as sender; None without
    App credentials."""
    from bot.adapters.github.api import GitHubClient

    app_id, key = settings.github_app_id, settings.github_private_key
    if not app_id or not key:
        return None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        gh = GitHubClient(session, base_url=settings.github_api_url)
        try:
            data: dict[str, Any] = await gh.getitem("/app", jwt=app_jwt(app_id, key))
        except HTTPException as exc:
            raise ForgeError(f"GitHub refused the App's JWT: HTTP {exc.status_code}") from None
    return f"{data['slug']}[bot]"
