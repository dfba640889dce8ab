"""Shared state in a real ``redis-server`` (started here on loopback): delivery dedupe across two
webhook replicas, the tag cache and image index, and an outage: webhooks 503 and ``/readyz``
fails while Redis is down, then both recover without a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.adapters.redis_state import (
    RedisImageIndex,
    RedisTagCache,
    StoreUnavailable,
    connect,
)
from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from bot.ports import RepoRef
from tests.support.github_fixtures import WEBHOOK_SECRET
from tests.support.redis_process import start_redis
from tests.unit.test_server_webhooks import Recorder, headers, push_payload

GITOPS = RepoRef("github", "acme/gitops", 42)


async def test_two_replicas_share_dedupe_and_survive_an_outage(
    aiohttp_client: Any, webhook_examples: dict[str, Any], tmp_path: Path
) -> None:
    with start_redis(tmp_path) as redis:
        settings = Settings(github_webhook_secret=WEBHOOK_SECRET, redis_url=redis.url)
        one, two = Recorder(), Recorder()
        a = await aiohttp_client(build_app(settings, execute=one, schedule=False))
        b = await aiohttp_client(build_app(settings, execute=two, schedule=False))
        body = json.dumps(push_payload(webhook_examples)).encode()
        hdrs = headers("push", body, delivery="same-delivery")
        assert (await a.post("/webhooks/github", data=body, headers=hdrs)).status == 202
        # the same delivery id at the other replica: a duplicate, because the claim is shared
        assert (await b.post("/webhooks/github", data=body, headers=hdrs)).status == 200
        assert (await b.get("/readyz")).status == 200

        redis.stop()  # the outage, in the middle of a burst
        statuses = []
        for n in range(5):
            h = headers("push", body, delivery=f"burst-{n}")
            statuses.append((await a.post("/webhooks/github", data=body, headers=h)).status)
        assert statuses == [503] * 5
        assert (await a.get("/readyz")).status == 503
        assert (await a.get("/healthz")).status == 200  # alive, just not ready

        redis.start()  # back, same address: no restart of the replicas
        assert (await a.get("/readyz")).status == 200
        for n in range(5):  # the redeliveries of the failed burst now go through, once
            h = headers("push", body, delivery=f"burst-{n}")
            assert (await b.post("/webhooks/github", data=body, headers=h)).status == 202
            assert (await a.post("/webhooks/github", data=body, headers=h)).status == 200
        await a.app[RUNTIME].queue.wait_idle()
        await b.app[RUNTIME].queue.wait_idle()
        assert len(one.jobs) == 1 and len(two.jobs) == 5


async def test_tag_cache_and_index_in_redis(tmp_path: Path) -> None:
    with start_redis(tmp_path) as server:
        redis = connect(server.url)
        try:
            cache = RedisTagCache(redis, ttl=60)
            await cache.put("reg:5000/team/app", ["1.0.0", "1.1.0"])
            second = connect(server.url)  # another process, same Redis
            other = RedisTagCache(second, ttl=60)
            assert await other.get("reg:5000/team/app") == ["1.0.0", "1.1.0"]
            await other.invalidate("reg:5000/team/app")
            await second.aclose()
            assert await cache.get("reg:5000/team/app") is None

            index = RedisImageIndex(redis)
            await index.record(GITOPS, ["a", "b"], replace=True)
            await index.record(RepoRef("github", "acme/gitops", 43), ["c"], replace=False)
            await index.record(RepoRef("gitlab", "grp/infra"), ["a"], replace=True)
            assert await index.repositories("a") == [GITOPS, RepoRef("gitlab", "grp/infra")]
            assert await index.repositories("c") == [RepoRef("github", "acme/gitops", 43)]
            await index.record(GITOPS, ["b"], replace=True)  # no longer uses a and c
            assert await index.repositories("a") == [RepoRef("gitlab", "grp/infra")]
            assert await index.repositories("c") == []
            assert await index.repositories("b") == [GITOPS]

            server.stop()
            for call in (cache.get("x"), index.repositories("b")):
                try:
                    await call
                except StoreUnavailable as exc:
                    assert "redis unavailable" in str(exc)
                else:
                    raise AssertionError("an unreachable Redis must raise StoreUnavailable")
        finally:
            await redis.aclose()


async def test_two_schedulers_plan_one_round_per_interval(tmp_path: Path) -> None:
    """Two replicas' schedulers over one Redis: one plans each interval; when the leader dies,
    the other takes over once the lease (two intervals) has expired."""
    import asyncio

    from bot.adapters.redis_state import RedisLeader
    from bot.app.scheduler import Scheduler
    from bot.core.events import Event

    async def source() -> Any:
        yield ("github", "acme/gitops", 1)

    interval = 0.2  # real seconds: the schedulers' 1 s interval (their minimum) runs 5x faster

    async def fast(seconds: float) -> None:
        await asyncio.sleep(seconds * interval)

    with start_redis(tmp_path) as server:
        clients = [connect(server.url), connect(server.url)]
        submitted: list[int] = []
        schedulers = []
        for n, client in enumerate(clients):

            async def submit(event: Event, n: int = n) -> None:
                submitted.append(n)

            leader = RedisLeader(client, "scheduler", f"replica-{n}", 2 * interval)
            scheduler = Scheduler(
                1.0, [source], submit, jitter=0.0, first_delay=0.0, sleep=fast, elect=leader.elect
            )
            schedulers.append(scheduler)
        tasks = [asyncio.create_task(s.run()) for s in schedulers]
        try:
            await asyncio.sleep(10 * interval + interval / 2)
            rounds = sum(s.rounds for s in schedulers)
            assert 9 <= rounds <= 11, (rounds, submitted)  # one round per interval, not two
            assert len(set(submitted)) == 1  # all by the leader
            leader_n = submitted[0]
            tasks[leader_n].cancel()  # the leader dies
            before = len(submitted)
            await asyncio.sleep(6 * interval)
            taken_over = submitted[before:]
            assert taken_over and set(taken_over) == {1 - leader_n}
            assert len(taken_over) <= 5  # waited for the lease to expire first
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for client in clients:
                await client.aclose()
