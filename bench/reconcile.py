"""Benchmarks for comment commands and reconcile (prints figures; not run in CI).

    python -m bench.reconcile

1. ``bot.core.commands.parse`` throughput on realistic comment bodies (quotes, code fences,
commands).
2. Reconcile + watch of N Kustomizations through kubernetes_asyncio against the fake Kubernetes
   API on loopback (``tests/support/kube_fake.py``): wall time of trigger and of the whole watch.
3. The job queue: how long commands of a repository wait while its rollout is being watched.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web

from bot.adapters.kube import GITREPOSITORY, KUSTOMIZATION, KubeFlux, watch
from bot.core.commands import parse
from bot.core.rollout import KsRef, Observation, evaluate, rfc3339nano
from tests.support.kube_fake import Behaviour, KubeFake

BODY = (
    "Thanks for this!\n\n> /fluxbot close\n\n```yaml\n/fluxbot rebase\nimage: x:1\n```\n"
    + "Some discussion line that is not a command.\n" * 20
    + "@fluxbot ignore this minor version\n"
)


def bench_parse(n: int = 20_000) -> None:
    start = time.perf_counter()
    for _ in range(n):
        parse(BODY)
    elapsed = time.perf_counter() - start
    print(
        f"parse: {n} comments of {len(BODY)} bytes in {elapsed:.3f}s "
        f"= {n / elapsed:,.0f} comments/s ({elapsed / n * 1e6:.1f} µs each)"
    )


async def bench_reconcile(count: int, rounds: int = 3) -> None:
    fake = KubeFake()
    fake.add_gitrepository()
    refs = [KsRef("flux-system", f"ks{i:03d}") for i in range(count)]
    for ref in refs:
        fake.add_kustomization(ref.namespace, ref.name, Behaviour("ready", after=2))
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    triggers, totals = [], []
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(fake.kubeconfig(Path(tmp) / "kc"))
        async with KubeFlux.open(kubeconfig=kubeconfig) as kube:
            for r in range(rounds):
                sha = f"{r:040x}"
                fake.push(sha)
                at = rfc3339nano(time.time_ns())
                t0 = time.perf_counter()
                await kube.request_reconcile(GITREPOSITORY, KsRef("flux-system", "flux-system"), at)
                for ref in refs:
                    await kube.request_reconcile(KUSTOMIZATION, ref, at)
                t1 = time.perf_counter()

                async def observe(ref: KsRef, sha: str = sha, at: str = at) -> Observation:
                    obj = await kube.get(KUSTOMIZATION, ref)
                    assert obj is not None
                    return evaluate(obj, sha, at)

                results = await watch(
                    refs,
                    observe,
                    timeout=60,
                    interval=0.01,
                    clock=time.monotonic,
                    sleep=asyncio.sleep,
                )
                t2 = time.perf_counter()
                assert all(res.outcome.value == "ready" for res in results)
                triggers.append(t1 - t0)
                totals.append(t2 - t0)
    await runner.cleanup()
    print(
        f"reconcile {count:3d} Kustomizations: "
        f"trigger median {statistics.median(triggers) * 1e3:.0f} ms, "
        f"trigger+watch median {statistics.median(totals) * 1e3:.0f} ms ({rounds} rounds, "
        f"{len(fake.patches())} PATCHes, {len(fake.requests)} requests in all)"
    )


async def bench_queue(watch_seconds: float = 2.0, updates: int = 5) -> None:
    """How long an update of a repository waits while that repository's rollout is watched."""
    from bot.adapters.queue import JobQueue
    from bot.core.dispatch import Job, JobKind
    from bot.core.events import Event, EventKind

    waits: list[float] = []
    queued: dict[int, float] = {}

    async def execute(job: Job) -> None:
        if job.kind is JobKind.RECONCILE:
            await asyncio.sleep(watch_seconds)  # a watch: mostly waiting on the cluster
        else:
            waits.append(time.perf_counter() - queued[id(job)])
            await asyncio.sleep(0.01)

    queue = JobQueue(execute, concurrency=4)
    merged = Event("github", EventKind.PR_MERGED, "o/r")
    await queue.enqueue(Job(JobKind.RECONCILE, "github", "o/r", merged))
    for i in range(updates):
        job = Job(JobKind.COMMAND, "github", "o/r", Event("github", EventKind.COMMENT, "o/r"))
        queued[id(job)] = time.perf_counter()
        await queue.enqueue(job)
        await asyncio.sleep(0.05 * i)
    await queue.wait_idle()
    print(
        f"queue: {updates} commands on a repository during a {watch_seconds:g}s rollout watch "
        f"waited median {statistics.median(waits) * 1e3:.1f} ms, max {max(waits) * 1e3:.1f} ms"
    )


def main() -> None:
    bench_parse()
    for count in (1, 10, 50):
        asyncio.run(bench_reconcile(count))
    asyncio.run(bench_queue())


if __name__ == "__main__":
    main()
