"""From an :class:`~bot.core.events.Event` to the jobs it calls for. Pure; one rule per event kind.

The one owner of two rules: which events are fluxbot's own (:func:`is_own`; the normalisers only
translate payloads) and what a comment commands (parsed here, once, with the bot's real names;
the :class:`Job` carries the result).

>>> e = Event(forge="github", kind=EventKind.SCHEDULE, repo="o/r")
>>> [j.kind for j in jobs_for(e, bot_login="fluxbot[bot]")]
[<JobKind.UPDATE: 'update'>]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.commands import Command, bot_names, parse
from bot.core.events import Event, EventKind
from bot.core.model import BRANCH_PREFIX

CONFIG_FILES = (".fluxbot.yaml", ".fluxbot.yml")

# fluxbot's own events that still call for work: a preview of its PR, a reconcile of its merge,
# and a push to the default branch (fluxbot never makes one: it came from a person sharing its
# token, whose change must still be planned).
OWN_ALLOWED = frozenset(
    {EventKind.PR_OPENED, EventKind.PR_SYNCHRONIZE, EventKind.PR_MERGED, EventKind.PUSH}
)


class JobKind(StrEnum):
    UPDATE = "update"  # plan and ensure update PRs
    PREVIEW = "preview"  # render the flux diff of a PR
    COMMAND = "command"  # act on a comment command
    RECONCILE = "reconcile"  # a PR merged: reconcile Flux and report the rollout
    CLOSED = "closed"  # a fluxbot PR closed unmerged: record the ignore


@dataclass(frozen=True)
class Job:
    """One unit of work for one repository; serialised per repository by the runner.

    ``commands``: for a ``COMMAND`` job, the commands its comment gives, in order.
    """

    kind: JobKind
    forge: str
    repo: str
    event: Event
    commands: tuple[Command, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.forge}:{self.repo}"


def touches_manifests(paths: tuple[str, ...]) -> bool:
    """Whether a change can affect updates or previews (YAML or fluxbot's config)."""
    return any(p.endswith((".yaml", ".yml")) or p in CONFIG_FILES for p in paths)


def is_own(event: Event, bot_login: str) -> bool:
    """Whether fluxbot itself caused ``event``: its actor is ``bot_login`` (the GitHub App's bot
    or the GitLab token's user), compared as the forges compare logins (case-insensitively),
    with or without GitHub's ``[bot]`` suffix."""
    actor, login = event.actor.casefold(), bot_login.casefold()
    return bool(actor and login) and actor in (login, login.removesuffix("[bot]"))


def commands_in(event: Event, bot_login: str) -> tuple[Command, ...]:
    """The commands a PR comment gives fluxbot (none from a bot, fluxbot included)."""
    if event.kind is not EventKind.COMMENT or event.pr_number is None:
        return ()
    if event.actor_is_bot or event.actor.casefold().endswith("[bot]"):
        return ()
    if is_own(event, bot_login):
        return ()
    return tuple(parse(event.comment_body, bot_names(bot_login)))


def jobs_for(event: Event, bot_login: str) -> list[Job]:
    """The jobs an event calls for; events caused by fluxbot itself call for none but those of
    :data:`OWN_ALLOWED`. ``bot_login`` is fluxbot's login on ``event.forge``."""
    if is_own(event, bot_login) and event.kind not in OWN_ALLOWED:
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
            commands = commands_in(event, bot_login)
            if not commands:
                return []
            return [Job(JobKind.COMMAND, event.forge, event.repo, event, commands)]
        case _:
            return []
