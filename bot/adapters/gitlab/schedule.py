"""A scheduler source for ``fluxbot serve``: the GitLab projects to re-plan on the interval.

GitLab has no "installations" to enumerate the way a GitHub App does, so the projects are named:
``FLUXBOT_GITLAB_PROJECTS=group/app,group/sub/infra`` (:attr:`Settings.gitlab_projects`). Each
round yields ``("gitlab", project, None)``, which the scheduler turns into a ``SCHEDULE`` event →
an update job, exactly like a GitHub repository. New tags are then found between pushes without
a CI pipeline schedule.

    Scheduler(settings.schedule_interval,
              [app_repositories(settings), gitlab_projects(settings)], state.submit)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bot.app.log import get_logger
from bot.app.scheduler import RepoSource
from bot.app.settings import Settings

log = get_logger(__name__)


def gitlab_projects(settings: Settings) -> RepoSource:
    """("gitlab", project, None) for every configured project (none without a token)."""

    async def source() -> AsyncIterator[tuple[str, str, int | None]]:
        if not settings.gitlab_projects:
            return
        if not settings.gitlab_token:
            log.warning("gitlab.schedule.no_token", projects=len(settings.gitlab_projects))
            return
        for project in dict.fromkeys(p.strip("/") for p in settings.gitlab_projects):
            if project:
                yield "gitlab", project, None

    return source
