"""TTL cache of tag lists, in memory or in a SQLite file (so a restart does not re-scan).

Keys are ``api_host/api_repository``; values the full tag list before exclusions::

    cache = SQLiteTagCache(Path("cache.db"), ttl=600)
    cache.put("ghcr.io/org/app", ["1.0.0"])
    cache.get("ghcr.io/org/app")   # ["1.0.0"] until 600 s have passed
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from bot.core.errors import ConfigError

__all__ = ["MemoryTagCache", "SQLiteTagCache", "TagCache"]


class TagCache(Protocol):
    """What the client needs from a tag cache."""

    def get(self, key: str) -> list[str] | None: ...

    def put(self, key: str, tags: Sequence[str]) -> None: ...


class MemoryTagCache:
    """In-process TTL cache (monotonic clock by default)."""

    def __init__(self, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._data: dict[str, tuple[float, list[str]]] = {}

    def get(self, key: str) -> list[str] | None:
        entry = self._data.get(key)
        if entry is None or entry[0] <= self._clock():
            self._data.pop(key, None)
            return None
        return list(entry[1])

    def put(self, key: str, tags: Sequence[str]) -> None:
        self._data[key] = (self._clock() + self.ttl, list(tags))


class SQLiteTagCache:
    """TTL cache in a SQLite file; wall-clock expiry so it survives restarts."""

    def __init__(
        self, path: Path, ttl: float = 600.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS tags "
                "(key TEXT PRIMARY KEY, expires REAL NOT NULL, tags TEXT NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open tag cache {path}: {exc}") from None

    def get(self, key: str) -> list[str] | None:
        row = self._db.execute("SELECT expires, tags FROM tags WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if row[0] <= self._clock():
            self._db.execute("DELETE FROM tags WHERE key = ?", (key,))
            return None
        tags = json.loads(row[1])
        return [str(t) for t in tags]

    def put(self, key: str, tags: Sequence[str]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO tags (key, expires, tags) VALUES (?, ?, ?)",
            (key, self._clock() + self.ttl, json.dumps(list(tags))),
        )

    def close(self) -> None:
        self._db.close()
