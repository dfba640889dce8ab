"""From a :class:`~bot.core.dispatch.Job` to the job function that does it, with an explicit
context.

    outcome = await run_job(job, ctx)        # "ok" | "error" | "unavailable" | "skipped"

The job modules are imported lazily: a job kind whose module is missing (a feature not built in
this deployment) is logged and counted as ``unavailable``. :func:`execute` is what the queue (or a
scale-out worker) calls: it opens the forge for the job's repository, builds the context, runs the
job and records metrics.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.app.log import get_logger
from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.core.dispatch import Job, JobKind
from bot.core.errors import BotError
from bot.core.events import Event
from bot.jobs.context import Context, TagSource

_log = get_logger(__name__)
JobFn = Callable[[Context, Job], Awaitable[Any]]


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


async def _update(ctx: Context, job: Job) -> Any:
    return await _load("bot.jobs.update", "run_update")(ctx)


async def _closed(ctx: Context, job: Job) -> None:
    # The forge is the database: the closed PR's marker already records the ignore; the next
    # plan reads closed PRs (bot.core.markers.closed_ignores). Nothing to write.
    _log.info("job.closed_pr", repo=job.repo, pr=job.event.pr_number)


async def run_preview_job(ctx: Context, event: Event) -> Any:
    """Render the Flux diff of PR ``event.pr_number`` and ensure its sticky comment.

    :func:`bot.jobs.preview.post_preview` reads every file a render needs (chart templates,
    generator inputs) and honours the ``diff:`` config. The base side is the merge base of the
    base branch and the head (when the forge can tell), so commits that landed on the base after
    the PR branched do not show up reversed. ``ctx.extra["full_diff"]`` ends the truncation note
    (where the whole diff is: the Action says "the job summary") and
    ``ctx.extra["preview_options"]`` replaces the default ``PreviewOptions``. Returns the
    ``PreviewDiff``.
    """
    post_preview = _load("bot.jobs.preview", "post_preview")
    if event.pr_number is None:
        return None
    pr = await ctx.forge.get_pr(event.pr_number)
    head_ref = event.after or pr.head_sha or pr.branch
    base_ref = await _preview_base(ctx, await ctx.forge.branch_sha(pr.base) or pr.base, head_ref)
    extra: dict[str, Any] = {}
    if ctx.extra.get("full_diff"):
        extra["full_diff"] = str(ctx.extra["full_diff"])
    if ctx.extra.get("preview_options") is not None:  # a PreviewOptions (the Action's caps)
        extra["options"] = ctx.extra["preview_options"]
    return await post_preview(ctx.forge, event.pr_number, base_ref, head_ref, **extra)


async def _preview_base(ctx: Context, base_tip: str, head_ref: str) -> str:
    """The merge base of the base branch's tip and the PR head, else the tip itself."""
    merge_base = getattr(ctx.forge, "merge_base", None)  # bot.ports.ForgeHistory
    if not callable(merge_base):
        return base_tip
    try:
        return str(await merge_base(base_tip, head_ref))
    except BotError as exc:  # unrelated histories, a forge hiccup: the tip is still a base
        _log.warning("preview.merge_base_unknown", base=base_tip, head=head_ref, error=str(exc))
        return base_tip


async def _preview(ctx: Context, job: Job) -> Any:
    return await run_preview_job(ctx, job.event)


async def _command(ctx: Context, job: Job) -> Any:
    return await _load("bot.jobs.command", "run_command")(ctx, job)


async def _reconcile(ctx: Context, job: Job) -> Any:
    return await _load("bot.jobs.reconcile", "run_reconcile")(ctx, job.event)


JOBS: dict[JobKind, JobFn] = {
    JobKind.UPDATE: _update,
    JobKind.CLOSED: _closed,
    JobKind.PREVIEW: _preview,
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
        result = await fn(ctx, job)
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
    from bot.app.forges import open_forge as factory_open

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
