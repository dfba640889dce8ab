"""Shared state of a scale-out deployment in Redis (``FLUXBOT_REDIS_URL``): delivery dedupe, the
tag cache and the image index, so every webhook replica and worker sees the same.

    redis = connect("redis://127.0.0.1:6379/0")
    await RedisDeliveryStore(redis).claim("github:72d3...")   # SET NX EX: once across replicas
    cache = RedisTagCache(redis, ttl=600); await cache.invalidate("ghcr.io/org/app")
    index = RedisImageIndex(redis)

Redis being unreachable raises :class:`StoreUnavailable` (a :class:`bot.core.errors.BotError`):
the server answers webhooks 503 so the sender redelivers later, and ``/readyz`` fails. Nothing
here holds a connection open across an outage: redis-py reconnects on the next command, so the
process recovers without a restart. Keys are prefixed ``fluxbot:``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.core.errors import BotError
from bot.ports import RepoRef

__all__ = [
    "RedisDeliveryStore",
    "RedisImageIndex",
    "RedisTagCache",
    "StoreUnavailable",
    "connect",
    "ping",
]

PREFIX = "fluxbot:"
WEEK = 7 * 24 * 3600
T = TypeVar("T")


class StoreUnavailable(BotError):
    """Redis did not answer (down, unreachable, timed out)."""


def connect(url: str, timeout: float = 2.0) -> aioredis.Redis:
    """A client for ``url`` (connections are made lazily, per command, and re-made after an
    outage); short timeouts so a webhook answers 503 instead of hanging."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=10,
        decode_responses=True,
    )


async def _call(what: str, fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return await fn()
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise StoreUnavailable(f"redis unavailable ({what}): {type(exc).__name__}") from None


async def ping(redis: aioredis.Redis) -> bool:
    """Whether Redis answers now."""
    try:
        await _call("ping", redis.ping)
    except StoreUnavailable:
        return False
    return True


class RedisDeliveryStore:
    """Delivery ids kept ``ttl`` seconds, claimed with ``SET NX EX`` (atomic across replicas)."""

    def __init__(self, redis: aioredis.Redis, ttl: int = WEEK) -> None:
        self._redis = redis
        self._ttl = ttl

    async def claim(self, key: str) -> bool:
        done = await _call(
            "claim", lambda: self._redis.set(f"{PREFIX}delivery:{key}", 1, nx=True, ex=self._ttl)
        )
        return bool(done)


class RedisTagCache:
    """The tag cache (:class:`bot.adapters.registry.cache.TagCache`) in Redis, ``ttl`` seconds."""

    def __init__(self, redis: aioredis.Redis, ttl: float = 600.0) -> None:
        self._redis = redis
        self.ttl = ttl

    async def get(self, key: str) -> list[str] | None:
        raw = await _call("tags get", lambda: self._redis.get(f"{PREFIX}tags:{key}"))
        if raw is None:
            return None
        return [str(t) for t in json.loads(raw)]

    async def put(self, key: str, tags: Sequence[str]) -> None:
        if self.ttl <= 0:
            return
        body = json.dumps(list(tags))
        ms = max(1, int(self.ttl * 1000))
        await _call("tags put", lambda: self._redis.set(f"{PREFIX}tags:{key}", body, px=ms))

    async def invalidate(self, key: str) -> None:
        await _call("tags invalidate", lambda: self._redis.delete(f"{PREFIX}tags:{key}"))


class RedisImageIndex:
    """:class:`bot.ports.ImageIndex` as Redis sets: one per image (its repositories) and one per
    repository (its images, so a replacing plan removes what it no longer uses)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    @staticmethod
    def _repo_key(repo: RepoRef) -> str:
        return f"{PREFIX}index:repo:{repo.forge}|{repo.repo}"

    async def _members(self, key: str) -> set[str]:
        found = await self._redis.smembers(key)
        return {str(m) for m in found}

    async def record(self, repo: RepoRef, keys: Iterable[str], *, replace: bool) -> None:
        wanted = set(keys)
        member = repo.encode()
        repo_key = self._repo_key(repo)

        async def run() -> None:
            old = await self._members(repo_key)
            async with self._redis.pipeline(transaction=True) as pipe:
                for image in old | wanted:
                    image_key = f"{PREFIX}index:image:{image}"
                    for m in await self._members(image_key):
                        ref = RepoRef.decode(m)
                        same = (ref.forge, ref.repo) == (repo.forge, repo.repo)
                        stale_id = image in wanted and m != member  # a new installation id
                        if same and (stale_id or (replace and image not in wanted)):
                            pipe.srem(image_key, m)
                for image in wanted:
                    pipe.sadd(f"{PREFIX}index:image:{image}", member)
                if replace:
                    pipe.delete(repo_key)
                if wanted:
                    pipe.sadd(repo_key, *wanted)
                await pipe.execute()

        await _call("index record", run)

    async def repositories(self, key: str) -> list[RepoRef]:
        members = await _call("index read", lambda: self._members(f"{PREFIX}index:image:{key}"))
        return sorted((RepoRef.decode(m) for m in members), key=lambda r: (r.forge, r.repo))


_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class RedisLeader:
    """Leader election by a Redis lease: ``elect()`` is True for exactly one holder at a time.
    The holder renews the lease on every call; a holder that dies stops renewing, and after
    ``lease`` seconds another candidate takes over (one scheduler among N replicas)."""

    def __init__(self, redis: aioredis.Redis, name: str, me: str, lease: float) -> None:
        self._redis = redis
        self._key = f"{PREFIX}leader:{name}"
        self._me = me
        self._lease_ms = max(1, int(lease * 1000))

    async def elect(self) -> bool:
        got = await _call(
            "leader",
            lambda: self._redis.eval(_RENEW, 1, self._key, self._me, self._lease_ms),
        )
        return bool(got)
