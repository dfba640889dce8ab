"""The composition root of ``fluxbot serve``: one aiohttp application.

Routes: ``POST /webhooks/github`` (:mod:`bot.app.webhooks.github`), ``POST /webhooks/gitlab``
(:mod:`bot.app.webhooks.gitlab`, when present), ``GET /healthz`` (the process answers), ``GET
/readyz``
(started and not draining), ``GET /metrics`` (Prometheus). Webhooks are answered at once; their jobs
run in the in-process :class:`~bot.adapters.queue.JobQueue` (per-repository serialisation) through
:func:`bot.jobs.runner.execute`, with one registry client (and tag cache) shared by every job. A
scheduler re-plans every repository the GitHub App is installed on (in token mode: the
repositories listed in ``FLUXBOT_GITHUB_REPOSITORIES``). On shutdown the queue is
drained: running jobs finish (up to ``drain_timeout``), new deliveries get 503. With
``FLUXBOT_CACHE`` (``settings.cache_path``) seen delivery ids and registry tags persist in SQLite.

    app = build_app(Settings.from_env())
    web.run_app(app, host="127.0.0.1", port=8080)
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, web

from bot.adapters.queue import JobQueue, QueueClosed
from bot.adapters.registry.cache import TagCache
from bot.adapters.registry.client import RegistryClient
from bot.adapters.registry.index import MemoryImageIndex, SQLiteImageIndex
from bot.app.freshness import Freshness, Invalidator, recording
from bot.app.log import get_logger
from bot.app.metrics import CONTENT_TYPE, Metrics
from bot.app.scheduler import RepoSource, Scheduler
from bot.app.settings import Settings
from bot.app.shared import Shared, unavailable_503
from bot.app.webhooks import DeliveryStore, MemoryDeliveryStore, ServerState
from bot.core.dispatch import Job
from bot.core.events.registry import Notification
from bot.ports import ImageIndex

_log = get_logger(__name__)
WEBHOOK_MODULES = (
    "bot.app.webhooks.github",
    "bot.app.webhooks.gitlab",
    "bot.app.webhooks.registry",
)


@dataclass
class Runtime:
    """What the application owns besides its routes (exposed for tests as ``app[RUNTIME]``)."""

    state: ServerState
    queue: JobQueue
    freshness: Freshness
    registry: Any = None
    shared: Shared | None = None  # FLUXBOT_REDIS_URL: the Redis-backed stores
    scheduler: Scheduler | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    ready: bool = False


RUNTIME = web.AppKey("fluxbot_runtime", Runtime)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    ready = rt.ready and (rt.shared is None or await rt.shared.ready())
    body = {"ready": ready, "pending": rt.queue.pending, "active": rt.queue.active}
    return web.json_response(body, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    return web.Response(body=rt.state.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def _registry_counts(rt: Runtime) -> Callable[[], Mapping[str, int]]:
    def counts() -> Mapping[str, int]:
        stats = getattr(rt.registry, "stats", None)
        return dict(getattr(stats, "requests", None) or {})

    return counts


async def _learn_bot_login(state: ServerState) -> None:
    """Use the real login to recognise fluxbot's own events: the App's (``<slug>[bot]``), or in
    token mode the token user's (``GET /user``)."""
    from dataclasses import replace

    from bot.adapters.github.auth import app_login, token_login
    from bot.core.errors import BotError

    settings = state.settings
    try:
        if settings.github_app_id and settings.github_private_key:
            login = await app_login(settings)
        else:
            login = await token_login(settings)
    except (BotError, OSError, TimeoutError, ClientError) as exc:
        _log.warning("server.app_login_unknown", error=str(exc))
        return
    if login and login != state.settings.bot_login:
        state.settings = replace(state.settings, bot_login=login)
        _log.info("server.bot_login", login=login)


def _default_execute(rt: Runtime) -> Callable[[Job], Awaitable[object]]:
    from bot.jobs.runner import execute

    async def run(job: Job) -> object:
        tags = recording(rt.registry)
        outcome = await execute(
            job,
            rt.state.settings,
            tags,
            rt.state.metrics,
            extra={"deliveries": rt.state.deliveries},
        )
        await rt.freshness.learn(job, tags.keys, outcome)
        return outcome

    return run


def _invalidators(rt: Runtime) -> Callable[[], Sequence[Invalidator]]:
    def current() -> Sequence[Invalidator]:
        return [rt.registry] if isinstance(rt.registry, RegistryClient) else []

    return current


def _image_index(settings: Settings) -> ImageIndex:
    """Beside the tag cache: the SQLite file of ``FLUXBOT_CACHE``, else memory."""
    if settings.cache_path:
        from pathlib import Path

        return SQLiteImageIndex(Path(settings.cache_path))
    return MemoryImageIndex()


def build_app(
    settings: Settings,
    *,
    execute: Callable[[Job], Awaitable[object]] | None = None,
    registry: Any = None,
    deliveries: DeliveryStore | None = None,
    concurrency: int = 4,
    drain_timeout: float = 30.0,
    sources: list[RepoSource] | None = None,
    schedule: bool = True,
    docker_config: str | None = None,
    repositories: Sequence[str] = (),
    index: ImageIndex | None = None,
) -> web.Application:
    """The application; ``execute``/``registry``/``sources`` are seams for tests and workers.

    The scheduler re-plans every repository of the GitHub App; in token mode (no App to list
    installations) it re-plans ``repositories`` (``FLUXBOT_GITHUB_REPOSITORIES``); and the GitLab
    projects of ``FLUXBOT_GITLAB_PROJECTS``."""
    shared = Shared.from_settings(settings)
    app = web.Application(
        client_max_size=settings.max_body_bytes + 1024,
        middlewares=[unavailable_503] if shared else [],
    )
    metrics = Metrics()
    own_store = None
    if shared is not None:
        deliveries = deliveries or shared.deliveries
        index = index or shared.index
    if deliveries is None and settings.cache_path:
        from pathlib import Path

        from bot.adapters.stores import SQLiteDeliveryStore

        deliveries = own_store = SQLiteDeliveryStore(Path(settings.cache_path))
    state = ServerState(
        settings=settings, deliveries=deliveries or MemoryDeliveryStore(), metrics=metrics
    )
    rt = Runtime(
        state=state,
        queue=JobQueue(lambda job: asyncio.sleep(0)),
        freshness=Freshness(index or _image_index(settings)),
        registry=registry,
        shared=shared,
    )
    rt.freshness.invalidators = _invalidators(rt)
    rt.queue = JobQueue(execute or _default_execute(rt), concurrency=concurrency)

    async def enqueue(job: Job) -> None:
        metrics.queue_depth.observe(rt.queue.pending)
        try:
            await rt.queue.enqueue(job)
        except QueueClosed:
            raise web.HTTPServiceUnavailable(text="shutting down") from None

    state.enqueue = enqueue

    async def pushed(notice: Notification, delivery: str) -> list[Job]:
        return await rt.freshness.pushed(notice, enqueue, delivery)

    state.pushed = pushed
    state.accepting = lambda: rt.ready
    metrics.watch_registry(_registry_counts(rt))

    def count_github(outcome: str) -> None:
        metrics.forge_requests.labels(forge="github", outcome=outcome).inc()

    app[RUNTIME] = rt
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    for name in WEBHOOK_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                _log.warning("server.webhook_module_missing", module=name)
                continue
            raise
        module.setup(app, state)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        from bot.adapters.github import api as github_api

        owned = rt.registry is None and execute is None
        github_api.LISTENERS.append(count_github)
        if (settings.github_app_id and settings.github_private_key) or settings.github_token:
            await _learn_bot_login(state)
        if owned:
            cache = shared.tags if shared is not None else None
            rt.registry = await _open_registry(settings, docker_config, cache)
        if schedule:
            rt.scheduler = Scheduler(
                settings.schedule_interval,
                sources if sources is not None else _default_sources(settings, repositories),
                state.submit,
                elect=shared.leader(settings.schedule_interval) if shared else None,
            )
            rt.tasks.append(asyncio.create_task(rt.scheduler.run(), name="scheduler"))
        rt.ready = True
        _log.info("server.ready", concurrency=concurrency)
        yield
        rt.ready = False
        for task in rt.tasks:
            task.cancel()
        await asyncio.gather(*rt.tasks, return_exceptions=True)
        clean = await rt.queue.drain(drain_timeout)
        _log.info("server.drained", clean=clean)
        if owned and rt.registry is not None:
            await rt.registry.__aexit__(None, None, None)
        if own_store is not None:
            own_store.close()
        if shared is not None:
            await shared.close()
        github_api.LISTENERS.remove(count_github)

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(_stop_accepting(rt))
    return app


def _default_sources(settings: Settings, repositories: Sequence[str]) -> list[RepoSource]:
    """GitHub: the App's installations, or ``repositories`` in token mode; GitLab: the projects
    of ``FLUXBOT_GITLAB_PROJECTS`` (GitLab has no installations to list)."""
    from bot.adapters.github.auth import app_repositories, token_repositories
    from bot.adapters.gitlab.schedule import gitlab_projects

    sources: list[RepoSource] = []
    if settings.github_app_id and settings.github_private_key:
        if repositories:
            _log.warning("server.repositories_ignored", reason="the App's installations are used")
        sources.append(app_repositories(settings))
    elif settings.github_token and repositories:
        sources.append(token_repositories(settings, repositories))
    elif settings.github_token:
        _log.warning("server.nothing_to_schedule", hint="set FLUXBOT_GITHUB_REPOSITORIES")
    if settings.gitlab_projects:
        sources.append(gitlab_projects(settings))
    return sources


def _stop_accepting(rt: Runtime) -> Callable[[web.Application], Awaitable[None]]:
    async def stop(app: web.Application) -> None:
        rt.ready = False

    return stop


def _registry_client(
    settings: Settings, docker_config: str | None = None, cache: TagCache | None = None
) -> Any:
    """The registry client every entry point builds (:mod:`bot.adapters.registry.factory`); the tag
    cache is SQLite at ``settings.cache_path`` when set. ``docker_config`` overrides
    ``settings.docker_config``."""
    from pathlib import Path

    from bot.adapters.registry.factory import client_from_settings

    return client_from_settings(
        settings, docker_config=Path(docker_config) if docker_config else None, cache=cache
    )


async def _open_registry(
    settings: Settings, docker_config: str | None, cache: TagCache | None = None
) -> Any:
    return await _registry_client(settings, docker_config, cache).__aenter__()
