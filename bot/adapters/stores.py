"""Local state that is only a cache (DESIGN.md §4): seen webhook delivery ids in a SQLite file.

    store = SQLiteDeliveryStore(Path("/var/lib/fluxbot/cache.sqlite"))
    await store.claim("github:72d3162e-...")   # True the first time, False for a redelivery

Used by ``fluxbot serve`` when ``FLUXBOT_CACHE`` names a file, so a restarted server still
recognises redeliveries. Losing the file loses nothing: every forge write is an idempotent ensure.

SQLite never runs on the request path: a claim is answered from a bounded in-memory LRU of ids
(filled from the file at start, so a restarted server knows the recent ones), and new ids are
written behind, in batches, on a writer thread of its own. An id older than the ``recent`` newest
is forgotten after a restart: its redelivery runs its jobs again, which converge (DESIGN.md §4).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.app.log import get_logger
from bot.core.errors import ConfigError

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
        flush_interval: float = 0.05,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._claims = 0
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._capacity = recent
        self._pending: list[tuple[str, float]] = []
        self._flush_interval = flush_interval
        self._flush_handle: asyncio.TimerHandle | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fluxbot-store")
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, at REAL NOT NULL)"
            )
            rows = self._db.execute(
                "SELECT key, at FROM deliveries WHERE at >= ? ORDER BY at DESC LIMIT ?",
                (clock() - ttl, recent),
            ).fetchall()
        except sqlite3.Error as exc:
            self._thread.shutdown()
            raise ConfigError(f"cannot open the delivery cache {path}: {exc}") from None
        for key, at in reversed(rows):
            self._recent[str(key)] = float(at)

    async def claim(self, key: str) -> bool:
        now = self._clock()
        at = self._recent.get(key)
        if at is not None and now - at < self._ttl:
            self._recent.move_to_end(key)
            return False
        self._recent[key] = now
        self._recent.move_to_end(key)
        while len(self._recent) > self._capacity:
            self._recent.popitem(last=False)
        self._pending.append((key, now))
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self._flush_interval, self._flush)
        return True

    def _flush(self) -> None:
        self._flush_handle = None
        batch, self._pending = self._pending, []
        if batch:
            self._thread.submit(self._write, batch)

    def _write(self, batch: list[tuple[str, float]]) -> None:
        """On the writer thread: one transaction for the batch, expired rows pruned now and then."""
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO deliveries (key, at) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET at = excluded.at",
                    batch,
                )
                self._claims += len(batch)
                if self._claims >= 1000:
                    self._claims = 0
                    cutoff = batch[-1][1] - self._ttl
                    self._db.execute("DELETE FROM deliveries WHERE at < ?", (cutoff,))
        except sqlite3.Error as exc:  # only a cache: a lost write loses nothing
            _log.warning("store.write_failed", error=str(exc), ids=len(batch))

    def close(self) -> None:
        """Write what is pending, then close the file."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush()
        self._thread.shutdown(wait=True)
        self._db.close()
