"""Local state that is only a cache (DESIGN.md §4): seen webhook delivery ids in a SQLite file.

    store = SQLiteDeliveryStore(Path("/var/lib/fluxbot/cache.sqlite"))
    await store.claim("github:72d3162e-...")   # True the first time, False for a redelivery

Used by ``fluxbot serve`` when ``FLUXBOT_CACHE`` names a file, so a restarted server still
recognises redeliveries. Losing the file loses nothing: every forge write is an idempotent ensure.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from bot.errors import ConfigError

WEEK = 7 * 24 * 3600.0


class SQLiteDeliveryStore:
    """Delivery ids kept ``ttl`` seconds (wall clock, so restarts keep them)."""

    def __init__(
        self, path: Path, ttl: float = WEEK, clock: Callable[[], float] = time.time
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._claims = 0
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, at REAL NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the delivery cache {path}: {exc}") from None

    async def claim(self, key: str) -> bool:
        now = self._clock()
        cursor = self._db.execute(
            "INSERT INTO deliveries (key, at) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET at = excluded.at WHERE deliveries.at < ?",
            (key, now, now - self._ttl),
        )
        self._claims += 1
        if self._claims % 1000 == 0:
            self._db.execute("DELETE FROM deliveries WHERE at < ?", (now - self._ttl,))
        return cursor.rowcount == 1

    def close(self) -> None:
        self._db.close()
