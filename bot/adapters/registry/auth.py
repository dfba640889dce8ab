"""Registry authentication: the 401 → challenge → token (or Basic) → retry dance.

Remembers each registry's challenge so later scopes fetch a token directly (no extra 401), and
caches tokens per (registry, scope) until shortly before they expire. Token requests go through a
``fetch`` callable supplied by the transport, so the SSRF guard, retries and size caps apply to
token realms too::

    auth = Authenticator(credentials, fetch, clock=time.monotonic)
    header = await auth.header("ghcr.io", "repository:org/app:pull")      # None before a 401
    header = await auth.challenged("ghcr.io", "repository:org/app:pull", www_authenticate_values)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.adapters.registry.credentials import Credential, Credentials
from bot.adapters.registry.protocol import Challenge, ProtocolError, parse_challenges, parse_token
from bot.core.errors import AuthError, RegistryError

__all__ = ["Authenticator", "TokenFetch"]

#: fetch(method, url, headers, form body) -> (status, body bytes)
TokenFetch = Callable[[str, str, dict[str, str], bytes | None], Awaitable[tuple[int, bytes]]]


@dataclass
class _Token:
    value: str
    expires: float


class Authenticator:
    """Per-client auth state: challenges by host, tokens by (host, scope), credential lookups."""

    def __init__(
        self,
        credentials: Credentials | None,
        fetch: TokenFetch,
        clock: Callable[[], float],
    ) -> None:
        self._credentials = credentials
        self._fetch = fetch
        self._clock = clock
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def _credential(self, host: str) -> Credential | None:
        if self._credentials is None:
            return None
        return await self._credentials.lookup(host)

    async def header(self, host: str, scope: str) -> str | None:
        """``Authorization`` value to send up front, or None (anonymous until challenged)."""
        challenge = self._challenges.get(host)
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            cred = await self._credential(host)
            return cred.basic() if cred is not None and cred.has_password else None
        return "Bearer " + await self._token(host, scope, challenge)

    def learn(self, host: str, values: Sequence[str]) -> None:
        """Remember a host's challenge from its ``/v2/`` answer, so the first request has auth."""
        try:
            challenges = parse_challenges(values)
        except ProtocolError:
            return
        by_scheme = {c.scheme: c for c in challenges}
        challenge = by_scheme.get("bearer") or by_scheme.get("basic")
        if challenge is not None:
            self._challenges[host] = challenge

    async def challenged(self, host: str, scope: str, values: Sequence[str], sent: bool) -> str:
        """Handle a 401: remember the challenge and return the header to retry with.

        ``sent`` says whether the failed request already carried credentials; a second refusal
        is an :class:`AuthError`, never a loop.
        """
        try:
            challenges = parse_challenges(values)
        except ProtocolError as exc:
            raise RegistryError(f"{host}: {exc}") from None
        by_scheme = {c.scheme: c for c in challenges}
        challenge = by_scheme.get("bearer") or by_scheme.get("basic")
        if challenge is None:
            raise AuthError(f"{host} asked for authentication without a usable challenge")
        known = self._challenges.get(host)
        self._challenges[host] = challenge
        if challenge.scheme == "basic":
            cred = await self._credential(host)
            if cred is None or not cred.has_password:
                raise AuthError(f"{host} requires credentials (Basic auth) and none are configured")
            if sent and known is not None and known.scheme == "basic":
                raise AuthError(f"{host} rejected the configured credentials")
            return cred.basic()
        if sent:  # the token we sent was refused (expired or revoked): fetch a fresh one once
            self._tokens.pop((host, scope), None)
        return "Bearer " + await self._token(host, scope, challenge)

    async def _token(self, host: str, scope: str, challenge: Challenge) -> str:
        key = (host, scope)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one token request per scope however many callers wait for it
            cached = self._tokens.get(key)
            if cached is not None and cached.expires > self._clock():
                return cached.value
            token, lifetime = await self._request_token(host, scope, challenge)
            margin = min(10.0, lifetime / 10)
            self._tokens[key] = _Token(token, self._clock() + lifetime - margin)
            return token

    async def _request_token(
        self, host: str, scope: str, challenge: Challenge
    ) -> tuple[str, float]:
        realm = challenge.realm
        if not realm:
            raise AuthError(f"{host}: Bearer challenge without a realm")
        cred = await self._credential(host)
        if cred is not None and cred.registry_token:
            return cred.registry_token, 3600.0
        service = challenge.params.get("service", "")
        headers: dict[str, str] = {"Accept": "application/json"}
        body: bytes | None = None
        if cred is not None and cred.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": cred.identity_token,
                "service": service,
                "scope": scope,
                "client_id": "fluxbot",
            }
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            status, data = await self._fetch("POST", realm, headers, body)
        else:
            if cred is not None and cred.has_password:
                headers["Authorization"] = cred.basic()
            query = urlencode({k: v for k, v in (("service", service), ("scope", scope)) if v})
            sep = "&" if "?" in realm else "?"
            status, data = await self._fetch("GET", f"{realm}{sep}{query}", headers, None)
        if status in (401, 403):
            who = "the configured credentials" if cred is not None else "anonymous access"
            raise AuthError(f"token service for {host} refused {who} for {scope}")
        if status != 200:
            raise AuthError(f"token service for {host} answered HTTP {status} for {scope}")
        try:
            return parse_token(data)
        except ProtocolError as exc:
            raise AuthError(f"token service for {host} ({scope}): {exc}") from None
