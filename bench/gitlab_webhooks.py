"""``POST /webhooks/gitlab`` answer time (prints figures; not run in CI).

    python -m bench.gitlab_webhooks

N authentic Push Hook deliveries (GitLab's example payload, distinct ``Idempotency-Key``) and N
redeliveries, sent one after another over loopback to the aiohttp app with a no-op queue: client
round-trip percentiles per kind of answer; then 20 deliveries of ~3 MB.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import statistics
import time

import aiohttp
import structlog
from aiohttp import web

from bot.app.settings import Settings
from bot.app.webhooks import ServerState
from bot.app.webhooks.gitlab import ROUTE, setup
from bot.core.dispatch import Job
from tests.support.paths import GITLAB_WEBHOOKS

SECRET = "bench-secret"


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100, method="inclusive")  # never beyond max
    return f"p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms, max {max(samples) * 1000:.2f} ms"


async def main(n: int = 1000) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    data = json.loads((GITLAB_WEBHOOKS / "push.json").read_text(encoding="utf-8"))
    data["total_commits_count"] = len(data["commits"])
    data["commits"][0]["modified"] = ["apps/deploy.yaml"]
    body = json.dumps(data).encode()
    jobs: list[Job] = []

    async def enqueue(job: Job) -> None:
        jobs.append(job)

    app = web.Application()
    setup(app, ServerState(settings=Settings(gitlab_webhook_secret=SECRET), enqueue=enqueue))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}{ROUTE}"
    base = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
    async with aiohttp.ClientSession() as session:
        for label, key in (("accepted (202)", "d"), ("redelivered (200)", "d")):
            times: list[float] = []
            for i in range(n):
                start = time.perf_counter()
                async with session.post(
                    url, data=body, headers=base | {"Idempotency-Key": f"{key}-{i}"}
                ) as resp:
                    await resp.read()
                times.append(time.perf_counter() - start)
            print(f"{label}: {n} deliveries of {len(body)} bytes: {percentiles(times)}")
        # big deliveries (a push with a huge payload): read whole, parsed off the event loop
        big = json.loads(body)
        big["padding"] = "x" * 3_000_000
        big_body = json.dumps(big).encode()
        times = []
        answers: dict[int, int] = {}
        for i in range(20):
            start = time.perf_counter()
            async with session.post(
                url, data=io.BytesIO(big_body), headers=base | {"Idempotency-Key": f"big-{i}"}
            ) as resp:
                await resp.read()
                answers[resp.status] = answers.get(resp.status, 0) + 1
            times.append(time.perf_counter() - start)
        print(f"big: 20 deliveries of {len(big_body)} bytes: {percentiles(times)}; {answers}")
    print(f"jobs enqueued: {len(jobs)} (expected {n + 20})")
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
