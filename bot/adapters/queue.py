"""The in-process job queue: jobs of one repository run one at a time, repositories in parallel.

    queue = JobQueue(execute, concurrency=4)
    await queue.enqueue(job)      # returns at once; ``execute(job)`` runs in the background
    await queue.drain(timeout=30) # on shutdown: refuse new jobs, let running ones finish

A pending ``update`` job for a repository absorbs further ``update`` jobs for it (re-planning
twice in a row gives the same result), so a burst of pushes costs one plan. ``execute`` is the
only thing the queue knows about a job: a scale-out worker calls the same function.

``reconcile`` jobs (:func:`is_detached`: also a comment whose only command is ``reconcile``)
write no branch and mostly wait (a rollout watch lasts up to its timeout, 10 minutes by default),
so they run outside the per-repository serialisation and the global slots, bounded by their own
``watch_concurrency``: a watch never holds back the updates and commands of its
repository. ``wait_idle`` and ``drain`` cover them like any other job.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from bot.app.log import get_logger
from bot.core.commands import CommandKind
from bot.core.dispatch import Job, JobKind

_log = get_logger(__name__)
Execute = Callable[[Job], Awaitable[object]]
# Job kinds that run beside their repository's serialised jobs (they write no branches).
DETACHED = frozenset({JobKind.RECONCILE})


def is_detached(job: Job) -> bool:
    """A reconcile job, or a comment whose only command is ``reconcile`` (a watch), as
    :func:`bot.core.dispatch.jobs_for` parsed it (``job.commands``)."""
    if job.kind in DETACHED:
        return True
    if job.kind is JobKind.COMMAND and job.commands:
        return {c.kind for c in job.commands} == {CommandKind.RECONCILE}
    return False


class QueueClosed(RuntimeError):
    """The queue is draining for shutdown and takes no new jobs."""


class JobQueue:
    """Per-repository serialisation, a global concurrency bound, a bounded backlog."""

    def __init__(
        self,
        execute: Execute,
        concurrency: int = 4,
        max_pending: int = 10_000,
        watch_concurrency: int = 32,
    ) -> None:
        self._execute = execute
        self._slots = asyncio.Semaphore(concurrency)
        self._watch_slots = asyncio.Semaphore(max(1, watch_concurrency))
        self._detached: set[asyncio.Task[None]] = set()
        self._pending: dict[str, deque[Job]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._max_pending = max_pending
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.coalesced = 0

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._pending.values())

    @property
    def active(self) -> int:
        return len(self._tasks) + len(self._detached)

    async def enqueue(self, job: Job) -> None:
        if self._closing:
            raise QueueClosed("shutting down")
        if is_detached(job):
            if len(self._detached) >= self._max_pending:
                _log.warning("queue.full", repo=job.repo, kind=job.kind.value)
                return
            self._idle.clear()
            task = asyncio.create_task(self._detach(job), name=f"{job.kind.value} {job.key}")
            self._detached.add(task)
            task.add_done_callback(self._detached_done)
            return
        queue = self._pending.setdefault(job.key, deque())
        if job.kind is JobKind.UPDATE and any(j.kind is JobKind.UPDATE for j in queue):
            self.coalesced += 1
            return
        if self.pending >= self._max_pending:
            _log.warning("queue.full", repo=job.repo, kind=job.kind.value)
            return
        queue.append(job)
        if job.key not in self._tasks:
            self._idle.clear()
            self._tasks[job.key] = asyncio.create_task(self._work(job.key), name=f"jobs {job.key}")

    async def _detach(self, job: Job) -> None:
        async with self._watch_slots:
            await self._run(job)

    def _detached_done(self, task: asyncio.Task[None]) -> None:
        self._detached.discard(task)
        self._check_idle()

    def _check_idle(self) -> None:
        if not self._tasks and not self._detached:
            self._idle.set()

    async def _run(self, job: Job) -> None:
        try:
            await self._execute(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # execute reports its own errors; never kill the worker
            _log.exception("queue.job_crashed", repo=job.repo, kind=job.kind.value)

    async def _work(self, key: str) -> None:
        try:
            while self._pending.get(key):
                job = self._pending[key].popleft()
                async with self._slots:
                    await self._run(job)
        finally:
            self._pending.pop(key, None)
            self._tasks.pop(key, None)
            self._check_idle()

    async def wait_idle(self) -> None:
        """Until nothing is pending or running."""
        await self._idle.wait()

    async def drain(self, timeout: float = 30.0) -> bool:
        """Refuse new jobs, wait ``timeout`` for the rest, cancel stragglers; True when clean."""
        self._closing = True
        if not self._tasks and not self._detached:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            tasks = [*self._tasks.values(), *self._detached]
            _log.warning("queue.drain_timeout", cancelled=len(tasks))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return False
