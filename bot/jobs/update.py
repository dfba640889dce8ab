"""The update job: plan the repository's image updates, then converge the forge onto that plan.

:func:`~bot.jobs.plan.plan` turns a tree into update groups; :func:`run_update` reads
the default branch and fluxbot's PRs, plans, and then per group ensures one branch
``fluxbot/<group>`` with one commit on the base and one open PR whose body carries the hidden
:class:`~bot.core.markers.PRMarker`. Every forge write is an *ensure*, so a repeated run with
nothing new
makes no commit and no PR change; a newer version moves the same branch and updates the same PR;
a moved base recomputes the edits; a PR whose update is no longer needed is closed with a comment.
Closed-unmerged PRs become ignores (:func:`~bot.core.markers.closed_ignores`) for the next plan.

    report = await run_update(ctx)
    print(report.to_json())
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.app.log import get_logger
from bot.core.errors import BotError, ForgeError
from bot.core.lookups import LookupFailure
from bot.core.markers import PRMarker, closed_ignores, replace_marker
from bot.core.model import Ignore, PRState, PullRequest, Update, UpdateGroup
from bot.core.render.prbody import commit_message, pr_body, pr_title
from bot.jobs.context import Context
from bot.jobs.plan import Plan, load_tree_config, plan, pr_options

log = get_logger(__name__)

_OPENED = re.compile(r"<!--\s*fluxbot:opened=(\d+)\s*-->")
HOUR = 3600.0


@dataclass(frozen=True)
class PRAction:
    """What the job did (or, in a dry run, would do) to one PR."""

    branch: str
    title: str
    number: int | None = None
    url: str = ""
    updates: tuple[Update, ...] = ()
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "title": self.title,
            "number": self.number,
            "url": self.url,
            "reason": self.reason,
            "updates": [u.to_json() for u in self.updates],
        }


@dataclass
class UpdateReport:
    """The outcome of :func:`run_update` (JSON-able: the Action outputs it)."""

    base: str = ""
    base_sha: str = ""
    opened: list[PRAction] = field(default_factory=list)
    updated: list[PRAction] = field(default_factory=list)
    closed: list[PRAction] = field(default_factory=list)
    unchanged: list[PRAction] = field(default_factory=list)
    skipped: list[PRAction] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    refs_seen: int = 0
    dry_run: bool = False
    lookups: int = 0  # repositories looked up
    failures: list[LookupFailure] = field(default_factory=list)

    @property
    def all_lookups_failed(self) -> bool:
        return self.lookups > 0 and len(self.failures) >= self.lookups

    def to_json(self) -> dict[str, Any]:
        return {
            "failures": [f.to_json() for f in self.failures],
            "base": self.base,
            "base_sha": self.base_sha,
            "dry_run": self.dry_run,
            "refs_seen": self.refs_seen,
            "opened": [a.to_json() for a in self.opened],
            "updated": [a.to_json() for a in self.updated],
            "closed": [a.to_json() for a in self.closed],
            "unchanged": [a.to_json() for a in self.unchanged],
            "skipped": [a.to_json() for a in self.skipped],
            "updates": [u.to_json() for u in self.updates],
            "problems": list(self.problems),
        }


def opened_at(body: str) -> float | None:
    """When fluxbot opened a PR (recorded in its body), or None."""
    match = _OPENED.search(body or "")
    return float(match.group(1)) if match else None


def ignores_from(prs: Sequence[PullRequest]) -> tuple[Ignore, ...]:
    """Every ignore recorded by fluxbot's PRs: closed-unmerged ones, and explicit ones anywhere."""
    out: list[Ignore] = []
    for pr in prs:
        marker = PRMarker.parse(pr.body)
        if marker is None:
            continue
        out.extend(closed_ignores(marker) if pr.state is PRState.CLOSED else marker.ignores)
    return tuple(dict.fromkeys(out))


def _body(group: UpdateGroup, ignores: Sequence[Ignore], opened: float) -> str:
    footer = f"<!-- fluxbot:opened={int(opened)} -->"
    return pr_body(group, ignores, footer=footer)


async def run_update(ctx: Context) -> UpdateReport:
    """Plan the default branch and converge branches and PRs on it (see module docstring)."""
    forge = ctx.forge
    now = (ctx.clock or time.time)()
    dry = ctx.settings.dry_run
    base = await forge.default_branch()
    base_sha = await forge.branch_sha(base)
    if base_sha is None:
        raise ForgeError(f"default branch {base} not found")
    tree = await forge.read_tree(base_sha)
    prs = await forge.list_prs()
    ignores = ignores_from(prs)
    config = load_tree_config(tree)
    the_plan = await plan(tree, ctx, ignores=ignores, config=config, links=True)
    options = pr_options(config)
    report = UpdateReport(
        base=base,
        base_sha=base_sha,
        problems=the_plan.messages,
        refs_seen=the_plan.refs_seen,
        dry_run=dry,
        lookups=the_plan.images_fetched,
        failures=list(the_plan.failures),
    )
    open_prs = {pr.branch: pr for pr in prs if pr.state is PRState.OPEN}
    open_count = len(open_prs)
    recent = sum(1 for pr in prs if (opened_at(pr.body) or 0.0) > now - HOUR)
    log.debug("update.plan", repo=forge.repo, groups=len(the_plan.groups), prs=len(prs))
    for group in the_plan.groups:
        report.updates.extend(group.updates)
        existing = open_prs.get(group.branch)
        marker = PRMarker.parse(existing.body) if existing else None
        kept = marker.ignores if marker else ()
        opened = (opened_at(existing.body) if existing else None) or now
        title, body = pr_title(group, options.title), _body(group, kept, opened)
        action = PRAction(group.branch, title, updates=group.updates)
        if existing is None:
            if options.max_open and open_count >= options.max_open:
                report.skipped.append(_with(action, reason=f"pr.maxOpen={options.max_open}"))
                continue
            if options.max_per_hour and recent >= options.max_per_hour:
                reason = f"pr.maxPerHour={options.max_per_hour}"
                report.skipped.append(_with(action, reason=reason))
                continue
        if dry:
            if existing is None:
                open_count += 1
                recent += 1
                report.opened.append(action)
            else:
                same = (existing.title, existing.body) == (title, body)
                target = report.unchanged if same else report.updated
                target.append(_with(action, number=existing.number, url=existing.url))
            continue
        try:
            before = existing.head_sha if existing else await forge.branch_sha(group.branch)
            sha = await forge.ensure_branch(
                group.branch, base_sha, group.file_map, commit_message(group, options.commit)
            )
            pr, created = await forge.ensure_pr(
                group.branch,
                base,
                title,
                body,
                options.labels,
                options.reviewers,
                assignees=options.assignees,
            )
        except BotError as exc:
            report.problems.append(f"{group.branch}: {exc}")
            log.warning("update.group_failed", branch=group.branch, error=str(exc))
            continue
        done = _with(action, number=pr.number, url=pr.url)
        if created:
            open_count += 1
            recent += 1
            report.opened.append(done)
        elif sha != before or existing is None or (existing.title, existing.body) != (title, body):
            report.updated.append(done)
        else:
            report.unchanged.append(done)
    await _close_stale(ctx, the_plan, open_prs, report)
    return report


def _with(action: PRAction, **changes: Any) -> PRAction:
    return replace(action, **changes)


async def _close_stale(
    ctx: Context, the_plan: Plan, open_prs: dict[str, PullRequest], report: UpdateReport
) -> None:
    """Close open fluxbot PRs whose group the plan no longer proposes (unless it failed)."""
    wanted = {g.branch for g in the_plan.groups}
    for branch, pr in sorted(open_prs.items()):
        if branch in wanted:
            continue
        marker = PRMarker.parse(pr.body)
        if marker is None:
            continue  # not ours to manage (no marker): leave it alone
        images = {u.image for u in marker.updates}
        if images & the_plan.failed_images:
            report.unchanged.append(
                PRAction(branch, pr.title, pr.number, pr.url, marker.updates, "image lookup failed")
            )
            continue
        reason = "the update in this PR is no longer needed (already applied or superseded)"
        action = PRAction(branch, pr.title, pr.number, pr.url, marker.updates, reason)
        report.closed.append(action)
        if ctx.settings.dry_run:
            continue
        try:
            # The PR was not rejected by a human: drop its updates so closing implies no ignore.
            cleared = PRMarker(marker.group, (), marker.ignores, marker.version)
            await ctx.forge.update_pr_body(pr.number, replace_marker(pr.body, cleared))
            await ctx.forge.close_pr(pr.number, f"fluxbot closed this PR: {reason}.")
            await ctx.forge.delete_branch(branch)
        except BotError as exc:
            report.problems.append(f"{branch}: closing failed: {exc}")


__all__ = [
    "PRAction",
    "Plan",
    "UpdateReport",
    "ignores_from",
    "opened_at",
    "plan",
    "run_update",
]
