"""TTL cache of tag lists, in memory or in a SQLite file (so a restart does not re-scan).

Keys are ``api_host/api_repository`` (:func:`bot.core.events.registry.image_key`); values the
full tag list before exclusions::

    cache = SQLiteTagCache(Path("cache.db"), ttl=600)
    await cache.put("ghcr.io/org/app", ["1.0.0"])
    await cache.get("ghcr.io/org/app")   # ["1.0.0"] until 600 s have passed
    await cache.invalidate("ghcr.io/org/app")  # a registry announced a push: forget it now

The TTL (``FLUXBOT_TAG_TTL``) is only the fallback; registry notifications invalidate at once.
The methods are async so a shared cache (:class:`bot.adapters.redis_state.RedisTagCache`) fits.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from cachetools import TTLCache

from bot.core.errors import ConfigError

__all__ = ["MemoryTagCache", "SQLiteTagCache", "TagCache"]


class TagCache(Protocol):
    """What the client needs from a tag cache."""

    async def get(self, key: str) -> list[str] | None: ...

    async def put(self, key: str, tags: Sequence[str]) -> None: ...

    async def invalidate(self, key: str) -> None:
        """Forget ``key`` (a push made its tag list stale)."""
        ...


def open_table(path: Path, what: str, create: str) -> sqlite3.Connection:
    """The cache file in WAL mode with the table of ``create``; ConfigError if it cannot open."""
    try:
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(create)
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open {what} {path}: {exc}") from None
    return db


class MemoryTagCache:
    """In-process TTL cache (monotonic clock by default) of at most ``capacity`` images."""

    def __init__(
        self,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 4096,
    ) -> None:
        self.ttl = ttl
        self._data: TTLCache[str, tuple[str, ...]] = TTLCache(capacity, ttl, timer=clock)

    async def get(self, key: str) -> list[str] | None:
        entry = self._data.get(key)
        return None if entry is None else list(entry)

    async def put(self, key: str, tags: Sequence[str]) -> None:
        self._data[key] = tuple(tags)

    async def invalidate(self, key: str) -> None:
        self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


class SQLiteTagCache:
    """TTL cache in a SQLite file; wall-clock expiry so it survives restarts."""

    def __init__(
        self, path: Path, ttl: float = 600.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._db = open_table(
            path,
            "tag cache",
            "CREATE TABLE IF NOT EXISTS tags "
            "(key TEXT PRIMARY KEY, expires REAL NOT NULL, tags TEXT NOT NULL)",
        )

    async def get(self, key: str) -> list[str] | None:
        row = self._db.execute("SELECT expires, tags FROM tags WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if row[0] <= self._clock():
            self._db.execute("DELETE FROM tags WHERE key = ?", (key,))
            return None
        tags = json.loads(row[1])
        return [str(t) for t in tags]

    async def put(self, key: str, tags: Sequence[str]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO tags (key, expires, tags) VALUES (?, ?, ?)",
            (key, self._clock() + self.ttl, json.dumps(list(tags))),
        )

    async def invalidate(self, key: str) -> None:
        self._db.execute("DELETE FROM tags WHERE key = ?", (key,))

    def close(self) -> None:
        self._db.close()
