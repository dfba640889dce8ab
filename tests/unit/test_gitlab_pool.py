"""GitLabPool: python-gitlab calls on a bounded private executor, one client per thread.

No request is made: the functions run on the pool only look at the client they are handed.
"""

from __future__ import annotations

import asyncio
import threading
import time

import gitlab

from bot.adapters.gitlab.client import GitLabPool


async def test_bounded_and_one_client_per_thread() -> None:
    pool = GitLabPool("http://127.0.0.1:9", "glpat-x", workers=2)
    lock = threading.Lock()
    running = 0
    peak = 0
    seen: list[tuple[int, int]] = []

    def call(gl: gitlab.Gitlab) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            seen.append((threading.get_ident(), id(gl)))
        time.sleep(0.05)
        with lock:
            running -= 1

    try:
        await asyncio.gather(*(pool.run(call) for _ in range(8)))
    finally:
        pool.close()
    assert peak == 2  # never more than ``workers`` calls at once
    by_thread: dict[int, set[int]] = {}
    for thread, client in seen:
        by_thread.setdefault(thread, set()).add(client)
    assert len(by_thread) == 2 and all(len(c) == 1 for c in by_thread.values())
    assert len({c for cs in by_thread.values() for c in cs}) == 2  # no client shared
    assert threading.get_ident() not in by_thread  # never on the event loop's thread


async def test_token_never_in_repr() -> None:
    pool = GitLabPool("https://gitlab.example.com", "glpat-secret", workers=1)
    try:
        assert "glpat" not in repr(pool)
    finally:
        pool.close()
