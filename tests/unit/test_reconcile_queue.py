"""Reconcile jobs run beside their repository's serialised jobs; drain still covers them."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.queue import JobQueue, QueueClosed, is_detached
from bot.core.dispatch import Job, JobKind, jobs_for
from bot.core.events import Event, EventKind


def job(kind: JobKind, repo: str = "o/r") -> Job:
    return Job(kind, "github", repo, Event("github", EventKind.PR_MERGED, repo))


class Gate:
    """An execute whose reconcile jobs wait until released; records start/end order."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.log: list[str] = []
        self.cancelled = 0

    async def __call__(self, j: Job) -> None:
        self.log.append(f"start {j.kind.value}")
        try:
            if j.kind is JobKind.RECONCILE:
                await self.release.wait()
            else:
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.log.append(f"end {j.kind.value}")


async def test_a_watch_does_not_hold_the_repository_queue() -> None:
    gate = Gate()
    queue = JobQueue(gate, concurrency=1)
    await queue.enqueue(job(JobKind.RECONCILE))
    await queue.enqueue(job(JobKind.UPDATE))
    await queue.enqueue(job(JobKind.COMMAND))
    # the update and the command of the same repository finish while the watch still waits
    for _ in range(200):
        if "end command" in gate.log:
            break
        await asyncio.sleep(0.01)
    assert gate.log == [
        "start reconcile",
        "start update",
        "end update",
        "start command",
        "end command",
    ]
    assert queue.active == 1
    idle = asyncio.create_task(queue.wait_idle())
    await asyncio.sleep(0.02)
    assert not idle.done()  # wait_idle covers the detached watch
    gate.release.set()
    await asyncio.wait_for(idle, 2)
    assert gate.log[-1] == "end reconcile" and queue.active == 0


async def test_watches_of_one_repository_run_side_by_side_within_their_bound() -> None:
    running = 0
    peak = 0

    async def execute(j: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.03)
        running -= 1

    queue = JobQueue(execute, concurrency=1, watch_concurrency=2)
    for _ in range(5):
        await queue.enqueue(job(JobKind.RECONCILE))
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert peak == 2


async def test_drain_waits_for_a_watch_that_finishes_in_time() -> None:
    gate = Gate()
    queue = JobQueue(gate)
    await queue.enqueue(job(JobKind.RECONCILE))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_later(0.05, gate.release.set)
    assert await queue.drain(timeout=2) is True
    assert gate.log == ["start reconcile", "end reconcile"] and gate.cancelled == 0
    with pytest.raises(QueueClosed):
        await queue.enqueue(job(JobKind.RECONCILE))


async def test_drain_cancels_a_watch_past_the_timeout() -> None:
    gate = Gate()
    queue = JobQueue(gate)
    await queue.enqueue(job(JobKind.RECONCILE))
    await queue.enqueue(job(JobKind.UPDATE, "o/other"))
    await asyncio.sleep(0.02)
    assert await queue.drain(timeout=0.1) is False
    assert gate.cancelled == 1 and queue.active == 0
    assert "end update" in gate.log


async def test_a_crashing_watch_is_contained() -> None:
    async def execute(j: Job) -> None:
        raise RuntimeError("boom")

    queue = JobQueue(execute)
    await queue.enqueue(job(JobKind.RECONCILE))
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert queue.active == 0


def comment(body: str) -> Job:
    """The job the dispatcher makes of a PR comment (it parses the commands)."""
    event = Event("github", EventKind.COMMENT, "o/r", pr_number=1, comment_body=body)
    jobs = jobs_for(event, "fluxbot[bot]")
    return jobs[0] if jobs else Job(JobKind.COMMAND, "github", "o/r", event)


def test_which_jobs_run_detached() -> None:
    assert is_detached(job(JobKind.RECONCILE))
    assert is_detached(comment("Merged, thanks!\n/fluxbot reconcile"))
    assert not is_detached(comment("/fluxbot reconcile\n/fluxbot rebase"))  # writes a branch
    assert not is_detached(comment("> /fluxbot reconcile"))  # a quote is no command
    assert not is_detached(comment("/fluxbot close"))
    assert not is_detached(job(JobKind.UPDATE)) and not is_detached(job(JobKind.PREVIEW))


async def test_a_reconcile_command_does_not_hold_the_repository_queue() -> None:
    release = asyncio.Event()
    log: list[str] = []

    async def execute(j: Job) -> None:
        log.append(f"start {j.kind.value}")
        if j.kind is JobKind.COMMAND:
            await release.wait()
        log.append(f"end {j.kind.value}")

    queue = JobQueue(execute, concurrency=1)
    await queue.enqueue(comment("/fluxbot reconcile"))
    await queue.enqueue(job(JobKind.UPDATE))
    for _ in range(200):
        if "end update" in log:
            break
        await asyncio.sleep(0.01)
    assert log == ["start command", "start update", "end update"]
    release.set()
    await asyncio.wait_for(queue.wait_idle(), 2)
