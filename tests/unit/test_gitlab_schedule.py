"""GitLab projects re-planned by the server's scheduler (``FLUXBOT_GITLAB_PROJECTS``)."""

from __future__ import annotations

from bot.adapters.gitlab.schedule import gitlab_projects
from bot.app.scheduler import Scheduler
from bot.app.settings import Settings
from bot.core.dispatch import JobKind, jobs_for
from bot.core.events import Event, EventKind


async def _round(settings: Settings) -> list[Event]:
    events: list[Event] = []

    async def submit(event: Event) -> None:
        events.append(event)

    async def nap(seconds: float) -> None:
        return None

    scheduler = Scheduler(60, [gitlab_projects(settings)], submit, sleep=nap)
    await scheduler.run(rounds=1)
    return events


async def test_each_configured_project_gets_an_update_every_round() -> None:
    env = {
        "FLUXBOT_GITLAB_TOKEN": "t",
        "FLUXBOT_GITLAB_PROJECTS": "group/app, group/sub/infra/ ,group/app,",
    }
    events = await _round(Settings.from_env(env))
    assert [(e.forge, e.kind, e.repo) for e in events] == [
        ("gitlab", EventKind.SCHEDULE, "group/app"),
        ("gitlab", EventKind.SCHEDULE, "group/sub/infra"),
    ]
    assert [j.kind for j in jobs_for(events[0], "fluxbot[bot]")] == [JobKind.UPDATE]


async def test_nothing_without_projects_or_token() -> None:
    assert await _round(Settings(gitlab_token="t")) == []
    assert await _round(Settings(gitlab_projects=("group/app",))) == []


def test_gitlab_settings_from_env() -> None:
    s = Settings.from_env(
        {"FLUXBOT_GITLAB_BOT_LOGIN": "project_7_bot_1a", "FLUXBOT_BOT_LOGIN": "app[bot]"}
    )
    assert (s.gitlab_bot_login, s.bot_login, s.gitlab_projects) == (
        "project_7_bot_1a",
        "app[bot]",
        (),
    )
    assert Settings.from_env({}).gitlab_bot_login is None
