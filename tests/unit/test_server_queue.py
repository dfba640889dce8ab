"""The job queue (per-repository serialisation, coalescing, drain), runner and scheduler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.adapters.queue import JobQueue, QueueClosed
from bot.app.scheduler import Scheduler
from bot.core.dispatch import Job, JobKind
from bot.core.events import Event, EventKind
from bot.jobs.context import Context
from bot.jobs.runner import JOBS, Unavailable, _load, run_job


def job(repo: str, kind: JobKind = JobKind.UPDATE) -> Job:
    return Job(kind, "github", repo, Event("github", EventKind.SCHEDULE, repo))


class Tracker:
    def __init__(self, delay: float = 0.05) -> None:
        self.running: dict[str, int] = {}
        self.max_same_repo = 0
        self.max_total = 0
        self.done: list[tuple[str, JobKind]] = []
        self.delay = delay

    async def __call__(self, j: Job) -> None:
        self.running[j.repo] = self.running.get(j.repo, 0) + 1
        self.max_same_repo = max(self.max_same_repo, self.running[j.repo])
        self.max_total = max(self.max_total, sum(self.running.values()))
        await asyncio.sleep(self.delay)
        self.running[j.repo] -= 1
        self.done.append((j.repo, j.kind))


async def test_one_repository_at_a_time_repositories_in_parallel() -> None:
    tracker = Tracker()
    queue = JobQueue(tracker, concurrency=4)
    for repo in ("a/1", "a/2", "a/3"):
        await queue.enqueue(job(repo, JobKind.PREVIEW))
        await queue.enqueue(job(repo, JobKind.COMMAND))
    await asyncio.wait_for(queue.wait_idle(), 5)
    assert tracker.max_same_repo == 1 and tracker.max_total == 3
    assert [k for r, k in tracker.done if r == "a/1"] == [JobKind.PREVIEW, JobKind.COMMAND]


async def test_concurrency_bound() -> None:
    tracker = Tracker()
    queue = JobQueue(tracker, concurrency=2)
    for i in range(6):
        await queue.enqueue(job(f"r/{i}"))
    await queue.wait_idle()
    assert tracker.max_total == 2 and len(tracker.done) == 6


async def test_pending_updates_coalesce_but_other_kinds_do_not() -> None:
    tracker = Tracker(delay=0.1)
    queue = JobQueue(tracker)
    await queue.enqueue(job("o/r"))
    await asyncio.sleep(0.02)  # the first update is running now
    for _ in range(4):
        await queue.enqueue(job("o/r"))
    await queue.enqueue(job("o/r", JobKind.COMMAND))
    await queue.enqueue(job("o/r", JobKind.COMMAND))
    await queue.wait_idle()
    kinds = [k for _r, k in tracker.done]
    assert kinds.count(JobKind.UPDATE) == 2  # the running one + one pending
    assert kinds.count(JobKind.COMMAND) == 2
    assert queue.coalesced == 3


async def test_a_crashing_job_does_not_stop_the_repository() -> None:
    done: list[str] = []

    async def execute(j: Job) -> None:
        if j.kind is JobKind.PREVIEW:
            raise RuntimeError("boom")
        done.append(j.repo)

    queue = JobQueue(execute)
    await queue.enqueue(job("o/r", JobKind.PREVIEW))
    await queue.enqueue(job("o/r", JobKind.COMMAND))
    await queue.wait_idle()
    assert done == ["o/r"]


async def test_drain_waits_then_refuses_and_cancels_stragglers() -> None:
    tracker = Tracker(delay=0.1)
    queue = JobQueue(tracker)
    await queue.enqueue(job("o/r"))
    assert await queue.drain(timeout=5)
    assert len(tracker.done) == 1
    with pytest.raises(QueueClosed):
        await queue.enqueue(job("o/r"))
    slow = JobQueue(Tracker(delay=10))
    await slow.enqueue(job("o/r"))
    await asyncio.sleep(0)
    assert not await slow.drain(timeout=0.05)
    assert slow.active == 0


class _Forge:
    kind = "github"
    repo = "o/r"


def ctx() -> Context:
    return Context(forge=_Forge(), registry=None)  # type: ignore[arg-type]


async def test_runner_maps_kinds_and_reports_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Unavailable):
        _load("bot.jobs.does_not_exist", "run")
    with pytest.raises(Unavailable):
        _load("bot.jobs.update", "no_such_function")

    async def missing(c: Context, e: Event) -> None:
        _load("bot.jobs.not_built_here", "run")

    monkeypatch.setitem(JOBS, JobKind.RECONCILE, missing)
    assert await run_job(job("o/r", JobKind.RECONCILE), ctx()) == "unavailable"
    assert await run_job(job("o/r", JobKind.CLOSED), ctx()) == "ok"
    assert set(JOBS) == set(JobKind)

    async def failing(c: Context, e: Event) -> None:
        from bot.core.errors import ForgeError

        raise ForgeError("GitHub said no")

    monkeypatch.setitem(JOBS, JobKind.UPDATE, failing)
    assert await run_job(job("o/r"), ctx()) == "error"


async def test_scheduler_submits_every_repository_with_jitter() -> None:
    submitted: list[Event] = []
    sleeps: list[float] = []

    async def source() -> AsyncIterator[tuple[str, str, int | None]]:
        yield "github", "o/a", 1
        yield "github", "o/b", 1

    async def broken() -> AsyncIterator[tuple[str, str, int | None]]:
        raise RuntimeError("GitHub down")
        yield "github", "never", None  # pragma: no cover

    async def submit(event: Event) -> Any:
        submitted.append(event)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    values = iter([0.5, 0.0, 1.0])
    scheduler = Scheduler(
        100, [broken, source], submit, jitter=0.1, rng=lambda: next(values), sleep=sleep
    )
    await scheduler.run(rounds=2)
    assert [(e.repo, e.kind, e.installation_id) for e in submitted] == [
        ("o/a", EventKind.SCHEDULE, 1),
        ("o/b", EventKind.SCHEDULE, 1),
    ] * 2
    assert sleeps == [15.0, 90.0]  # first delay 30·0.5; then 100·(1 - 0.1)
    assert scheduler.rounds == 2
