"""Forge-neutral events: what happened, in the few fields the dispatcher needs.

Forge-specific normalisers (``bot/core/events/github.py``, ``bot/core/events/gitlab.py``,
the Action and the CLI) turn a payload into an :class:`Event`; :mod:`bot.core.dispatch` turns
events into
jobs. Pure values only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    PUSH = "push"  # a push to some branch (dispatch checks it is the default branch)
    PR_OPENED = "pr_opened"  # opened / reopened / ready_for_review
    PR_SYNCHRONIZE = "pr_synchronize"  # new commits on the head
    PR_EDITED = "pr_edited"
    PR_CLOSED = "pr_closed"  # closed without merge
    PR_MERGED = "pr_merged"
    COMMENT = "comment"  # a new comment on a PR/MR
    INSTALLATION = "installation"  # app installed / repositories added
    SCHEDULE = "schedule"  # timer, cron, workflow_dispatch
    IGNORED = "ignored"  # authentic but nothing to do


@dataclass(frozen=True)
class Event:
    """One normalised delivery."""

    forge: str  # "github" | "gitlab" | "local"
    kind: EventKind
    repo: str
    delivery_id: str = ""
    installation_id: int | None = None
    branch: str | None = None  # pushed branch, or a PR's base branch
    default_branch: str | None = None
    before: str | None = None
    after: str | None = None  # head sha after a push / PR head sha
    changed_paths: tuple[str, ...] = ()
    pr_number: int | None = None
    pr_branch: str | None = None  # the PR's head branch
    merge_sha: str | None = None
    actor: str = ""
    actor_is_bot: bool = False
    comment_id: int | None = None
    comment_body: str = ""
    repos: tuple[str, ...] = ()  # INSTALLATION: the repositories added


def commit_paths(commits: Iterable[Any]) -> tuple[str, ...]:
    """Every path ``added``, ``modified`` or ``removed`` by a push's ``commits`` (GitHub's and
    GitLab's push payloads share this shape), first-seen order; malformed entries are skipped."""
    paths: dict[str, None] = {}
    for commit in commits:
        if not isinstance(commit, Mapping):
            continue
        for key in ("added", "modified", "removed"):
            for path in commit.get(key) or ():
                if isinstance(path, str):
                    paths[path] = None
    return tuple(paths)
