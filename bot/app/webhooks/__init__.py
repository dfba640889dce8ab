"""What every webhook module (``bot/webhooks/<forge>.py``) gets: :class:`ServerState`.

A webhook module exposes ``setup(app: aiohttp.web.Application, state: ServerState) -> None`` and
adds its route(s) there. Its handler verifies the delivery, normalises it to a
:class:`bot.core.events.Event`, claims the delivery id once (``await
state.deliveries.claim(key)``), and
hands the event to ``await state.submit(event)`` (dispatch → enqueue), then answers 202 without
waiting for the work:

    async def handle(request: web.Request) -> web.Response:
        event = normalise(...)                     # raise WebhookError → 401/400
        if not await state.deliveries.claim(f"gitlab:{uuid}"):
            state.count("gitlab", kind, "duplicate"); return web.Response(status=200)
        jobs = await state.submit(event)
        state.count("gitlab", kind, "accepted" if jobs else "ignored")
        return web.Response(status=202)

Shared by the webhook modules: :func:`read_capped` (the body, refused past a cap),
:func:`answer` (the JSON answer) and :func:`timed` (the route handler, observing each
delivery's duration).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from cachetools import TTLCache

from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.core.dispatch import Job, jobs_for
from bot.core.events import Event
from bot.core.events.registry import Notification


class DeliveryStore(Protocol):
    """Remembers delivery ids; a scale-out deployment backs it with Redis ``SET NX EX``."""

    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is seen (within the retention), False afterwards."""
        ...


class MemoryDeliveryStore:
    """Bounded in-memory delivery-id store: ``capacity`` ids (least recent dropped first), each
    kept ``ttl`` seconds."""

    def __init__(
        self,
        capacity: int = 100_000,
        ttl: float = 7 * 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seen: TTLCache[str, bool] = TTLCache(capacity, ttl, timer=clock)

    async def claim(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen[key] = True
        return True

    def __len__(self) -> int:
        return len(self._seen)


async def _drop(job: Job) -> None:
    return None


async def _no_index(notice: Notification, delivery: str) -> list[Job]:
    return []


@dataclass
class ServerState:
    """Shared by the server and its webhook modules; built once by ``bot.app.server.build_app``."""

    settings: Settings
    enqueue: Callable[[Job], Awaitable[None]] = _drop
    deliveries: DeliveryStore = field(default_factory=MemoryDeliveryStore)
    metrics: Metrics = field(default_factory=Metrics)
    accepting: Callable[[], bool] = lambda: True  # False while draining: answer 503, claim nothing
    # a registry push: invalidate, then enqueue the updates (bot.app.freshness.Freshness.pushed)
    pushed: Callable[[Notification, str], Awaitable[list[Job]]] = _no_index

    async def submit(self, event: Event) -> list[Job]:
        """Dispatch ``event`` (ignoring fluxbot's own events) and enqueue its jobs."""
        jobs = jobs_for(event, self.settings.login_for(event.forge))
        for job in jobs:
            await self.enqueue(job)
        return jobs

    def count(self, forge: str, event: str, result: str) -> None:
        """Count one delivery: result is accepted | ignored | duplicate | rejected."""
        self.metrics.deliveries.labels(forge=forge, event=event, result=result).inc()


BIG_BODY = 256 * 1024  # above this, signature checks and JSON parsing run in a thread


async def read_capped(request: web.Request, cap: int) -> bytes | None:
    """The whole body, or None as soon as it exceeds ``cap`` bytes."""
    if request.content_length is not None and request.content_length > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def answer(status: int, result: str, **extra: Any) -> web.Response:
    """The JSON answer every webhook gives: ``{"result": result, **extra}``."""
    return web.json_response({"result": result, **extra}, status=status)


def timed(
    forge: str,
    key: web.AppKey[ServerState],
    inner: Callable[[web.Request, ServerState], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route handler: ``inner(request, app[key])``, its duration observed per ``forge``."""

    async def handle(request: web.Request) -> web.Response:
        state = request.app[key]
        started = time.monotonic()
        try:
            return await inner(request, state)
        finally:
            state.metrics.delivery_seconds.labels(forge=forge).observe(time.monotonic() - started)

    return handle
