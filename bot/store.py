"""Local state that is only a cache (DESIGN.md §4): seen webhook delivery ids in a SQLite file.

    store = SQLiteDeliveryStore(Path("/var/lib/fluxbot/cache.sqlite"))
    await store.claim("github:72d3162e-...")   # True the first time, False for a redelivery

Used by ``fluxbot serve`` when ``FLUXBOT_CACHE`` names a file, so a restarted server still
recognises redeliveries. Losing the file loses nothing: every forge write is an idempotent ensure.

SQLite never runs on the event loop: a claim first looks in a bounded in-memory LRU of recent ids
(a redelivery within the process's lifetime is answered from there at once), and only a new id
goes to the file, on one writer thread of its own (which also serialises the connection).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.errors import ConfigError
from bot.log import get_logger

WEEK = 7 * 24 * 3600.0
_log = get_logger(__name__)


class SQLiteDeliveryStore:
    """Delivery ids kept ``ttl`` seconds (wall clock, so restarts keep them)."""

    def __init__(
        self,
        path: Path,
        ttl: float = WEEK,
        clock: Callable[[], float] = time.time,
        recent: int = 100_000,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._claims = 0
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._capacity = recent
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fluxbot-store")
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, at REAL NOT NULL)"
            )
        except sqlite3.Error as exc:
            self._thread.shutdown()
            raise ConfigError(f"cannot open the delivery cache {path}: {exc}") from None

    async def claim(self, key: str) -> bool:
        now = self._clock()
        at = self._recent.get(key)
        if at is not None and now - at < self._ttl:
            self._recent.move_to_end(key)
            return False
        self._remember(key, now)  # before any await: a concurrent duplicate sees it
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, self._insert, key, now)
        except sqlite3.Error as exc:  # only a cache: answer as new rather than drop the delivery
            _log.warning("store.claim_failed", error=str(exc))
            return True

    def _remember(self, key: str, now: float) -> None:
        self._recent[key] = now
        self._recent.move_to_end(key)
        while len(self._recent) > self._capacity:
            self._recent.popitem(last=False)

    def _insert(self, key: str, now: float) -> bool:
        """On the writer thread: record ``key``; False when the file already had it."""
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
        self._thread.shutdown(wait=True)
        self._db.close()
