"""Freshness: a registry push invalidates that image's cached tags and re-plans the repositories
that reference it; every plan keeps the image → repositories index up to date.

    fresh = Freshness(index, invalidators=lambda: [registry_client])
    tags = recording(registry_client)               # hand ``tags`` to the job, then:
    await fresh.learn(job, tags.keys, outcome)      # the index now knows what the plan looked up
    jobs = await fresh.pushed(notification, enqueue)  # a push: invalidate, then update jobs

Used by ``fluxbot serve`` (embedded and ``--workers 0``) and ``fluxbot worker``: the worker learns,
the webhook side invalidates and enqueues (the shared Redis cache and index join them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.app.log import get_logger
from bot.core.dispatch import Job, JobKind
from bot.core.events import Event, EventKind
from bot.core.events.registry import Notification, image_key
from bot.core.reference import InvalidReference
from bot.ports import ImageIndex, RepoRef, TagSource

_log = get_logger(__name__)


class Invalidator(Protocol):
    """A tag cache (or a client owning one) that can forget an image key."""

    async def invalidate(self, key: str) -> None: ...


class RecordingTags:
    """A :class:`TagSource` that notes the image key of every tag lookup (for the index)."""

    def __init__(self, inner: TagSource) -> None:
        self._inner = inner
        self.keys: set[str] = set()

    def _note(self, image: str) -> None:
        with contextlib.suppress(InvalidReference):  # the lookup itself reports it
            self.keys.add(image_key(image))

    async def tags(self, image: str) -> list[str]:
        self._note(image)
        return await self._inner.tags(image)

    async def digest(self, image: str) -> str:
        return await self._inner.digest(image)

    async def source(self, image: str) -> str | None:
        return await self._inner.source(image)


def recording(inner: TagSource) -> RecordingTags:
    """A recording wrapper around ``inner``."""
    return RecordingTags(inner)


def update_job(repo: RepoRef, delivery: str) -> Job:
    """The targeted update of one indexed repository after a push."""
    event = Event(
        repo.forge,
        EventKind.SCHEDULE,
        repo.repo,
        delivery_id=delivery,
        installation_id=repo.installation_id,
    )
    return Job(JobKind.UPDATE, repo.forge, repo.repo, event)


@dataclass
class Freshness:
    """The index and the caches one process holds (see the module docstring)."""

    index: ImageIndex
    # what holds tags now (the server opens its registry client after building the app)
    invalidators: Callable[[], Sequence[Invalidator]] = lambda: ()

    async def learn(self, job: Job, keys: set[str], outcome: str) -> None:
        """Record what ``job``'s plan looked up: a successful update replaces the repository's
        images (an image no longer used drops out); anything else only adds."""
        full = job.kind is JobKind.UPDATE and outcome == "ok"
        if not keys and not full:
            return
        repo = RepoRef(job.forge, job.repo, job.event.installation_id)
        await self.index.record(repo, keys, replace=full)

    async def pushed(
        self, notice: Notification, enqueue: Callable[[Job], Awaitable[None]], delivery: str = ""
    ) -> list[Job]:
        """Invalidate every pushed image's tags, then enqueue one update per referencing repo."""
        jobs: dict[tuple[str, str], Job] = {}
        for key in notice.keys:
            for cache in self.invalidators():
                await cache.invalidate(key)
            repos = await self.index.repositories(key)
            _log.info("registry.push", image=key, sender=notice.sender.value, repos=len(repos))
            for repo in repos:
                jobs.setdefault((repo.forge, repo.repo), update_job(repo, delivery))
        for job in jobs.values():
            await enqueue(job)
        return list(jobs.values())
