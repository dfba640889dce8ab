"""Scale-out shared state for ``fluxbot serve`` when ``FLUXBOT_REDIS_URL`` is set: delivery
dedupe, tag cache and image index in Redis (:mod:`bot.adapters.redis_state`), the readiness
probe, and the 503 every webhook answers while Redis is unreachable.

    shared = Shared.from_settings(settings)     # None without FLUXBOT_REDIS_URL
    app.middlewares.append(unavailable_503)     # StoreUnavailable → 503 (the sender redelivers)
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web

from bot.adapters.redis_state import (
    RedisDeliveryStore,
    RedisImageIndex,
    RedisLeader,
    RedisTagCache,
    StoreUnavailable,
    connect,
    ping,
)
from bot.app.log import get_logger
from bot.app.settings import Settings

_log = get_logger(__name__)


@dataclass(frozen=True)
class Shared:
    """One Redis client and the stores over it."""

    redis: aioredis.Redis
    deliveries: RedisDeliveryStore
    index: RedisImageIndex
    tags: RedisTagCache

    @classmethod
    def from_settings(cls, settings: Settings) -> Shared | None:
        if not settings.redis_url:
            return None
        redis = connect(settings.redis_url)
        ttl = 600.0 if settings.tag_ttl is None else settings.tag_ttl
        return cls(
            redis, RedisDeliveryStore(redis), RedisImageIndex(redis), RedisTagCache(redis, ttl)
        )

    def leader(self, interval: float) -> Callable[[], Awaitable[bool]]:
        """The scheduler's election: a lease of two intervals, renewed every round."""
        return RedisLeader(self.redis, "scheduler", uuid.uuid4().hex, 2 * interval).elect

    async def ready(self) -> bool:
        return await ping(self.redis)

    async def close(self) -> None:
        await self.redis.aclose()


@web.middleware
async def unavailable_503(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A webhook that needed Redis while it was down: 503, so GitHub records a failed delivery
    (redeliverable) and nothing is half done."""
    try:
        return await handler(request)
    except StoreUnavailable as exc:
        _log.warning("server.store_unavailable", path=request.path, error=str(exc))
        return web.json_response({"result": "state store unavailable"}, status=503)
