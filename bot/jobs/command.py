"""The command job: a PR comment → parsed commands → permission → effect → reaction and reply.

Comments by bots (fluxbot's own included) call for no job (:func:`bot.core.dispatch.jobs_for`
decides, and parses the commands once). Only users with write access act; anyone
else gets one polite reply and nothing happens. Accepted commands are acknowledged with 👀, then
🚀 when every command succeeded or 😕 when one failed, and answered in one reply per comment (found
again by a per-comment marker, so a replayed delivery edits that reply instead of adding one).
When ``ctx.extra["deliveries"]`` holds a delivery store (``claim(key) -> bool``), a replay of an
already handled comment does nothing at all.

Effects: ``rebase``/``recreate`` run the update job (which recomputes every fluxbot branch on the
current base and force-moves a branch whose content differs, dropping manual edits); ``diff``
runs the preview job; ``ignore this ...`` records :class:`~bot.core.model.Ignore` values in the PR's
marker and closes the PR; ``unignore`` removes them; ``reconcile`` runs the reconcile job for a
merged PR; ``close`` closes the PR.

    outcome = await run_command(ctx, job)   # job.kind is JobKind.COMMAND, job.commands parsed
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from bot.app.log import get_logger
from bot.core.commands import (
    DEFAULT_NAMES,
    OWN_PR_ONLY,
    Command,
    CommandKind,
    describe_ignores,
    help_text,
    with_ignores,
    without_ignores,
)
from bot.core.dispatch import Job
from bot.core.errors import BotError, ForgeError
from bot.core.events import Event, EventKind
from bot.core.markers import PRMarker, replace_marker
from bot.core.model import BRANCH_PREFIX, PRState, PullRequest
from bot.jobs.context import Context
from bot.ports import Reaction

log = get_logger(__name__)


def reply_marker(comment_id: int) -> str:
    """The hidden marker of fluxbot's reply to comment ``comment_id``."""
    return f"<!-- fluxbot:command:{comment_id} -->"


@dataclass
class CommandOutcome:
    """What the job did with one comment."""

    commands: list[str] = field(default_factory=list)
    refused: bool = False
    ok: bool = True
    replies: list[str] = field(default_factory=list)


async def run_command(ctx: Context, job: Job) -> CommandOutcome | None:
    """Act on the commands of a PR comment (``job.commands``, parsed once by
    :func:`bot.core.dispatch.jobs_for`, which also turned away bots; see the module docstring)."""
    forge, event, commands = ctx.forge, job.event, list(job.commands)
    if event.pr_number is None or not commands:
        return None
    number, comment_id = event.pr_number, event.comment_id
    store = ctx.extra.get("deliveries")
    key = f"command:{event.forge}:{event.repo}:{comment_id}"
    if store is not None and comment_id is not None and not await store.claim(key):
        log.info("command.replay", repo=forge.repo, pr=number, comment=comment_id)
        return None
    outcome = CommandOutcome(commands=[c.kind.value for c in commands])
    marker = reply_marker(comment_id if comment_id is not None else 0)
    checked = True
    try:
        allowed = await forge.can_write(event.actor)
    except BotError as exc:
        log.warning("command.permission_check_failed", repo=forge.repo, error=str(exc))
        allowed = checked = False
    if not allowed:
        outcome.refused = True
        text = (
            f"Thanks @{event.actor}! fluxbot only takes commands from people with write access "
            "to this repository, so I have not done anything. A maintainer can run it for you."
            if checked
            else f"Sorry @{event.actor}, I could not check your access to this repository just "
            "now, so I have not done anything. Please write the command again in a new comment."
        )
        await forge.ensure_comment(number, marker, f"{marker}\n{text}\n")
        log.info("command.refused", repo=forge.repo, pr=number, actor=event.actor)
        return outcome
    if comment_id is not None:
        await forge.react(number, comment_id, Reaction.EYES)
    name = DEFAULT_NAMES[0]
    for cmd in commands:
        try:
            pr = await forge.get_pr(number)
            text, ok = await _execute(ctx, event, pr, cmd, name)
        except BotError as exc:
            text, ok = f"failed: {exc}", False
        except Exception:  # a bug must still end in 😕 and a reply, not a lone 👀
            log.exception("command.crashed", repo=forge.repo, pr=number, command=cmd.kind.value)
            text, ok = "failed: an internal error (details in fluxbot's log).", False
        outcome.ok = outcome.ok and ok
        outcome.replies.append(text)
        log.info("command.done", repo=forge.repo, pr=number, command=cmd.kind.value, ok=ok)
    if comment_id is not None:
        await forge.react(number, comment_id, Reaction.ROCKET if outcome.ok else Reaction.CONFUSED)
    body = "\n\n".join(
        f"**`/{name} {c.unknown or c.kind.value}`** — {t}"
        for c, t in zip(commands, outcome.replies, strict=True)
    )
    await forge.ensure_comment(number, marker, f"{marker}\n@{event.actor}\n\n{body}\n")
    return outcome


async def _execute(
    ctx: Context, event: Event, pr: PullRequest, cmd: Command, name: str
) -> tuple[str, bool]:
    """Run one command; (reply text, succeeded?)."""
    kind = cmd.kind
    if kind is CommandKind.HELP:
        if cmd.unknown:
            return f"I don't know this command.\n\n{help_text(name)}", False
        return help_text(name), True
    ours = pr.branch.startswith(BRANCH_PREFIX)
    if kind in OWN_PR_ONLY and not ours:
        return "this command only works on fluxbot's own pull requests.", False
    if kind in (CommandKind.REBASE, CommandKind.RECREATE):
        if pr.state is not PRState.OPEN:
            return "this pull request is not open.", False
        return await _recompute(ctx, pr), True
    if kind is CommandKind.DIFF:
        return await _preview(ctx, event, pr), True
    if kind in (CommandKind.IGNORE_MAJOR, CommandKind.IGNORE_MINOR, CommandKind.IGNORE_IMAGE):
        marker = _marker(pr)
        new = with_ignores(marker, kind)
        await ctx.forge.update_pr_body(pr.number, replace_marker(pr.body, new))
        if pr.state is PRState.OPEN:
            await ctx.forge.close_pr(pr.number)
        lines = "\n".join(f"- {line}" for line in describe_ignores(new.ignores))
        return (
            f"recorded; fluxbot will not propose these again:\n{lines}\n\n"
            f"Closed this pull request. `/{name} unignore` undoes it."
        ), True
    if kind is CommandKind.UNIGNORE:
        marker = _marker(pr)
        closed = pr.state is PRState.CLOSED
        new = without_ignores(marker, closed=closed)
        if new != marker:
            await ctx.forge.update_pr_body(pr.number, replace_marker(pr.body, new))
        return (
            "forgot the ignores this PR recorded; the next run may propose them again.",
            True,
        )
    if kind is CommandKind.RECONCILE:
        return await _reconcile(ctx, event, pr)
    if kind is CommandKind.CLOSE:
        if pr.state is PRState.OPEN:
            await ctx.forge.close_pr(pr.number)
            return (
                "closed. fluxbot will not propose these versions again "
                f"(`/{name} unignore` undoes that)."
            ), True
        return "this pull request is already closed.", True
    return help_text(name), False  # pragma: no cover - every kind is handled above


def _marker(pr: PullRequest) -> PRMarker:
    marker = PRMarker.parse(pr.body)
    if marker is None:
        raise ForgeError(f"PR #{pr.number} has no fluxbot state marker")
    return marker


def _job(module: str, function: str) -> Any:
    """Another job's entry point, imported when a command needs it."""
    return getattr(importlib.import_module(module), function)


async def _recompute(ctx: Context, pr: PullRequest) -> str:
    report = await _job("bot.jobs.update", "run_update")(ctx)
    for bucket, text in (
        ("opened", "recomputed the branch on `{base}`"),
        ("updated", "recomputed the branch on `{base}`"),
        ("unchanged", "the branch already is the update on the current `{base}`"),
        ("closed", "this update is no longer needed on `{base}`, so the PR was closed"),
        ("skipped", "the update is held back ({reason})"),
    ):
        for action in getattr(report, bucket, []):
            if action.branch == pr.branch:
                return text.format(base=report.base, reason=action.reason) + "."
    problems = [p for p in getattr(report, "problems", []) if pr.branch in p]
    if problems:
        raise ForgeError(problems[0])
    return f"recomputed on `{report.base}`."


def _pr_event(
    event: Event,
    pr: PullRequest,
    kind: EventKind,
    *,
    after: str | None = None,
    merge_sha: str | None = None,
) -> Event:
    """The event another job expects for ``pr``, carried over from the comment's delivery."""
    return Event(
        forge=event.forge,
        kind=kind,
        repo=event.repo,
        delivery_id=event.delivery_id,
        installation_id=event.installation_id,
        branch=pr.base,
        default_branch=event.default_branch,
        after=after,
        pr_number=pr.number,
        pr_branch=pr.branch,
        merge_sha=merge_sha,
        actor=event.actor,
    )


async def _preview(ctx: Context, event: Event, pr: PullRequest) -> str:
    run_preview_job = _job("bot.jobs.runner", "run_preview_job")
    preview_event = _pr_event(event, pr, EventKind.PR_SYNCHRONIZE, after=pr.head_sha or None)
    await run_preview_job(ctx, preview_event)
    return "rendered the Flux diff preview again."


async def _reconcile(ctx: Context, event: Event, pr: PullRequest) -> tuple[str, bool]:
    from bot.jobs.reconcile import run_reconcile

    if pr.state is not PRState.MERGED or not pr.merge_sha:
        return "`reconcile` works on a merged pull request.", False
    merged = _pr_event(event, pr, EventKind.COMMENT, merge_sha=pr.merge_sha)
    report = await run_reconcile(ctx, merged)
    if report is None:
        return "nothing to reconcile: no Flux Kustomization of this repository is affected.", True
    if not report.results:
        return f"asked Flux to reconcile via {report.how}: {report.description}.", True
    ok = report.state.value == "success"
    return f"asked Flux to reconcile via {report.how}: {report.description} (see below).", ok
