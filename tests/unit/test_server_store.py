"""Delivery ids in SQLite: a restarted server still recognises a redelivery."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from bot.adapters.stores import SQLiteDeliveryStore
from bot.app.server import build_app
from bot.app.settings import Settings
from bot.app.webhooks import MemoryDeliveryStore
from tests.support.github_fixtures import WEBHOOK_SECRET


async def test_claims_survive_reopening_and_expire(tmp_path: Path) -> None:
    now = [1000.0]
    path = tmp_path / "cache.sqlite"
    store = SQLiteDeliveryStore(path, ttl=60, clock=lambda: now[0])
    assert await store.claim("github:a") and not await store.claim("github:a")
    assert await store.claim("gitlab:a")
    store.close()
    again = SQLiteDeliveryStore(path, ttl=60, clock=lambda: now[0])
    assert not await again.claim("github:a")
    now[0] += 61
    assert await again.claim("github:a")  # expired: a new delivery with a reused id
    assert not await again.claim("github:a")


async def test_restarted_server_deduplicates_with_the_cache_file(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    settings = Settings(github_webhook_secret=WEBHOOK_SECRET, cache_path=str(tmp_path / "c.db"))
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "repository": {"full_name": "o/r", "default_branch": "main"},
            "commits": [],
            "sender": {"login": "alice", "type": "User"},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "same-id",
        "X-Hub-Signature-256": "sha256="
        + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    results = []
    for _ in range(2):  # two server lifetimes on the same cache file

        async def execute(job: Any) -> None:
            return None

        client = await aiohttp_client(build_app(settings, execute=execute, schedule=False))
        resp = await client.post("/webhooks/github", data=body, headers=headers)
        results.append(resp.status)
        await client.close()
    assert results == [202, 200]


async def test_sqlite_never_runs_on_the_request_path(tmp_path: Path) -> None:
    import asyncio
    import threading

    store = SQLiteDeliveryStore(tmp_path / "c.db", flush_interval=0.01)
    threads: list[str] = []
    store._db.set_trace_callback(lambda _sql: threads.append(threading.current_thread().name))
    loop_thread = threading.current_thread().name
    results = await asyncio.gather(*(store.claim(k) for k in ["a", "b", "a", "c", "b"]))
    assert results == [True, True, False, True, False]  # concurrent duplicates: one claim wins
    assert not await store.claim("c")
    assert threads == []  # answered from memory; the file is written behind
    await asyncio.sleep(0.2)
    assert threads and loop_thread not in threads  # on the writer thread, in one batch
    await store.claim("d")
    store.close()  # writes the pending "d"
    reopened = SQLiteDeliveryStore(tmp_path / "c.db", recent=2)
    # the newest ids are known again after a restart; older ones are forgotten (harmless)
    assert [await reopened.claim(k) for k in ["d", "c", "a"]] == [False, False, True]
    reopened.close()


async def test_memory_delivery_store_is_bounded_and_expires() -> None:
    now = [0.0]
    store = MemoryDeliveryStore(capacity=3, ttl=10.0, clock=lambda: now[0])
    assert [await store.claim(k) for k in "abcd"] == [True] * 4
    assert len(store) == 3  # "a", the least recently seen, made room for "d"
    assert await store.claim("a") and not await store.claim("d")
    now[0] = 10.0
    assert await store.claim("d")  # expired: a reused id is a new delivery
