"""From an :class:`~bot.core.events.Event` to the jobs it calls for. Pure; one rule per event kind.

>>> e = Event(forge="github", kind=EventKind.SCHEDULE, repo="o/r")
>>> [j.kind for j in jobs_for(e, bot_login="fluxbot[bot]")]
[<JobKind.UPDATE: 'update'>]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.events import Event, EventKind
from bot.core.model import BRANCH_PREFIX

CONFIG_FILES = (".fluxbot.yaml", ".fluxbot.yml")


class JobKind(StrEnum):
    UPDATE = "update"  # plan and ensure update PRs
    PREVIEW = "preview"  # render the flux diff of a PR
    COMMAND = "command"  # act on a comment command
    RECONCILE = "reconcile"  # a PR merged: reconcile Flux and report the rollout
    CLOSED = "closed"  # a fluxbot PR closed unmerged: record the ignore


@dataclass(frozen=True)
class Job:
    """One unit of work for one repository; serialised per repository by the runner."""

    kind: JobKind
    forge: str
    repo: str
    event: Event

    @property
    def key(self) -> str:
        return f"{self.forge}:{self.repo}"


def touches_manifests(paths: tuple[str, ...]) -> bool:
    """Whether a change can affect updates or previews (YAML or fluxbot's config)."""
    return any(p.endswith((".yaml", ".yml")) or p in CONFIG_FILES for p in paths)


def jobs_for(event: Event, bot_login: str) -> list[Job]:
    """The jobs an event calls for; events caused by fluxbot itself call for none.

    Two exceptions: fluxbot's own PRs still get a preview when opened or pushed to, and a merge of
    its PR (by whoever) still reconciles.
    """
    own_allowed = (EventKind.PR_MERGED, EventKind.PR_OPENED, EventKind.PR_SYNCHRONIZE)
    if event.actor == bot_login and event.kind not in own_allowed:
        return []

    def job(kind: JobKind, repo: str | None = None) -> Job:
        return Job(kind, event.forge, repo or event.repo, event)

    ours = bool(event.pr_branch and event.pr_branch.startswith(BRANCH_PREFIX))
    match event.kind:
        case EventKind.SCHEDULE:
            return [job(JobKind.UPDATE)]
        case EventKind.INSTALLATION:
            return [job(JobKind.UPDATE, repo) for repo in (event.repos or (event.repo,))]
        case EventKind.PUSH:
            if event.branch is None or event.branch != event.default_branch:
                return []
            jobs: list[Job] = []
            if touches_manifests(event.changed_paths) or not event.changed_paths:
                jobs.append(job(JobKind.UPDATE))
            return jobs
        case EventKind.PR_OPENED | EventKind.PR_SYNCHRONIZE:
            return [job(JobKind.PREVIEW)]
        case EventKind.PR_EDITED:
            return [job(JobKind.UPDATE)] if ours else []
        case EventKind.PR_CLOSED:
            return [job(JobKind.CLOSED)] if ours else []
        case EventKind.PR_MERGED:
            return [job(JobKind.RECONCILE), job(JobKind.UPDATE)]
        case EventKind.COMMENT:
            return [] if event.actor_is_bot else [job(JobKind.COMMAND)]
        case _:
            return []
