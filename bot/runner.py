"""From a :class:`~bot.dispatch.Job` to the job function that does it, with an explicit context.

    outcome = await run_job(job, ctx)        # "ok" | "error" | "unavailable" | "skipped"

The job modules are imported lazily: a job kind whose module is missing (a feature not built in
this deployment) is logged and counted as ``unavailable``. :func:`execute` is what the queue (or a
scale-out worker) calls: it opens the forge for the job's repository, builds the context, runs the
job and records metrics.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.dispatch import Job, JobKind
from bot.errors import BotError
from bot.events import Event
from bot.jobs.context import Context, TagSource
from bot.log import get_logger
from bot.marker import DIFF_MARKER
from bot.metrics import Metrics
from bot.settings import Settings

_log = get_logger(__name__)
JobFn = Callable[[Context, Event], Awaitable[Any]]


class Unavailable(Exception):
    """The module implementing a job kind is not present."""


def _load(module: str, name: str) -> Any:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise Unavailable(f"{module} is not installed") from None
        raise
    fn = getattr(mod, name, None)
    if fn is None:
        raise Unavailable(f"{module}.{name} does not exist")
    return fn


async def _update(ctx: Context, event: Event) -> Any:
    return await _load("bot.jobs.update", "run_update")(ctx)


async def _closed(ctx: Context, event: Event) -> None:
    # The forge is the database: the closed PR's marker already records the ignore; the next
    # plan reads closed PRs (bot.marker.closed_ignores). Nothing to write.
    _log.info("job.closed_pr", repo=event.repo, pr=event.pr_number)


async def run_preview_job(ctx: Context, event: Event) -> str | None:
    """Render the Flux diff of PR ``event.pr_number`` and ensure its sticky comment."""
    run_preview = _load("bot.jobs.preview", "run_preview")
    preview_comment = _load("bot.jobs.preview", "preview_comment")
    if event.pr_number is None:
        return None
    pr = await ctx.forge.get_pr(event.pr_number)
    base_ref = await ctx.forge.branch_sha(pr.base) or pr.base
    head_ref = event.after or pr.head_sha or pr.branch
    base, head = await asyncio.gather(ctx.forge.read_tree(base_ref), ctx.forge.read_tree(head_ref))
    result = await asyncio.to_thread(run_preview, base, head)  # renders with subprocesses
    body = str(preview_comment(result))
    if DIFF_MARKER not in body:
        body = f"{DIFF_MARKER}\n{body}"
    await ctx.forge.ensure_comment(event.pr_number, DIFF_MARKER, body)
    return body


async def _command(ctx: Context, event: Event) -> Any:
    return await _load("bot.jobs.command", "run_command")(ctx, event)


async def _reconcile(ctx: Context, event: Event) -> Any:
    return await _load("bot.jobs.reconcile", "run_reconcile")(ctx, event)


JOBS: dict[JobKind, JobFn] = {
    JobKind.UPDATE: _update,
    JobKind.CLOSED: _closed,
    JobKind.PREVIEW: run_preview_job,
    JobKind.COMMAND: _command,
    JobKind.RECONCILE: _reconcile,
}


async def run_job(job: Job, ctx: Context) -> str:
    """Run one job; returns its outcome. Errors are logged, never raised."""
    outcome, _result = await run_job_result(job, ctx)
    return outcome


async def run_job_result(job: Job, ctx: Context) -> tuple[str, Any]:
    """Run one job; (outcome, the job function's result or None)."""
    fn = JOBS.get(job.kind)
    log = _log.bind(repo=job.repo, kind=job.kind.value, delivery=job.event.delivery_id)
    if fn is None:
        log.error("job.unknown_kind")
        return "unavailable", None
    try:
        result = await fn(ctx, job.event)
    except Unavailable as exc:
        log.error("job.unavailable", reason=str(exc))
        return "unavailable", None
    except BotError as exc:
        log.error("job.failed", error=str(exc))
        return "error", None
    except Exception:
        log.exception("job.crashed")
        return "error", None
    log.info("job.done", summary=_summary(result))
    return "ok", result


def _summary(result: Any) -> Any:
    to_json = getattr(result, "to_json", None)
    if callable(to_json):
        data = to_json()
        if isinstance(data, dict):
            return {k: len(v) if isinstance(v, list) else v for k, v in data.items()}
    return None if result is None else type(result).__name__


ForgeOpener = Callable[..., Any]  # (kind, repo, settings, installation_id=...) → async CM


async def execute(
    job: Job,
    settings: Settings,
    registry: TagSource,
    metrics: Metrics | None = None,
    extra: dict[str, Any] | None = None,
    open_forge: ForgeOpener | None = None,
) -> str:
    """Open the job's forge, run the job, record metrics; what the queue and workers call."""
    from bot.forges.factory import open_forge as factory_open

    opener = open_forge or factory_open
    started = time.monotonic()
    outcome = "error"
    try:
        async with opener(
            job.forge, job.repo, settings, installation_id=job.event.installation_id
        ) as forge:
            ctx = Context(
                forge=forge, registry=registry, settings=settings, extra=dict(extra or {})
            )
            outcome, result = await run_job_result(job, ctx)
            if metrics is not None:
                for action in ("opened", "updated", "closed"):
                    done = getattr(result, action, None)
                    if isinstance(done, list) and done:
                        metrics.pull_requests.labels(forge=job.forge, action=action).inc(len(done))
    except BotError as exc:
        _log.error("job.forge_failed", repo=job.repo, kind=job.kind.value, error=str(exc))
    except Exception:
        _log.exception("job.crashed", repo=job.repo, kind=job.kind.value)
    finally:
        if metrics is not None:
            metrics.jobs.labels(kind=job.kind.value, outcome=outcome).inc()
            metrics.job_seconds.labels(kind=job.kind.value).observe(time.monotonic() - started)
    return outcome
