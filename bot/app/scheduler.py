"""Re-plan every installed repository on an interval, with jitter so replicas and repositories
do not all hit GitHub and the registries at the same second.

    scheduler = Scheduler(3600, sources=[app_repositories(settings)], submit=state.submit)
    task = asyncio.create_task(scheduler.run())   # cancel it on shutdown

The first round starts after a short jittered delay, so a restarted server converges soon. With
``elect`` (a :class:`bot.adapters.redis_state.RedisLeader`), only the elected replica plans; the
lease outlives two intervals, so a dead leader is replaced within that time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from bot.app.log import get_logger
from bot.core.errors import BotError
from bot.core.events import Event, EventKind

_log = get_logger(__name__)
RepoSource = Callable[[], AsyncIterator[tuple[str, str, int | None]]]  # (forge, repo, installation)


class Scheduler:
    def __init__(
        self,
        interval: float,
        sources: Sequence[RepoSource],
        submit: Callable[[Event], Awaitable[Any]],
        jitter: float = 0.1,
        first_delay: float = 30.0,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        elect: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.interval = interval
        self._sources = sources
        self._submit = submit
        self._jitter = jitter
        self._first_delay = first_delay
        self._rng = rng
        self._sleep = sleep
        self._elect = elect
        self.rounds = 0
        self.skipped = 0

    def next_delay(self) -> float:
        """The interval ± ``jitter`` (a fraction of it)."""
        return max(1.0, self.interval * (1 + self._jitter * (2 * self._rng() - 1)))

    async def run_once(self) -> int:
        """Submit one SCHEDULE event per repository; returns how many."""
        count = 0
        for source in self._sources:
            try:
                async for forge, repo, installation in source():
                    kind = EventKind.SCHEDULE
                    event = Event(forge, kind, repo, installation_id=installation)
                    await self._submit(event)
                    count += 1
            except Exception as exc:  # one failing source must not stop the others
                _log.error("scheduler.source_failed", error=str(exc))
        self.rounds += 1
        _log.info("scheduler.round", repositories=count)
        return count

    async def _leading(self) -> bool:
        """Whether this replica plans this round: always, unless a Redis election is set up
        (``FLUXBOT_REDIS_URL``: one scheduler among N replicas); Redis down: skip the round."""
        if self._elect is None:
            return True
        try:
            return await self._elect()
        except BotError as exc:
            _log.warning("scheduler.election_failed", error=str(exc))
            return False

    async def run(self, rounds: int | None = None) -> None:
        """Rounds forever (or ``rounds`` times), sleeping a jittered interval between them."""
        await self._sleep(self._first_delay * self._rng())
        done = 0
        while rounds is None or done < rounds:
            if await self._leading():
                await self.run_once()
            else:
                self.skipped += 1
            done += 1
            if rounds is not None and done >= rounds:
                break
            await self._sleep(self.next_delay())
