"""``fluxbot serve`` schedules the GitLab projects of ``FLUXBOT_GITLAB_PROJECTS`` next to the
GitHub repositories: the CLI builds the real app from the environment; one scheduler round is
run and the jobs it queues are caught at the execute seam (no forge is contacted)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner

from bot.app.cli import main
from bot.core.dispatch import Job, JobKind


def serve_one_round(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> list[Job]:
    from bot.app import server

    jobs: list[Job] = []

    def capture(rt: Any) -> Any:
        async def run(job: Job) -> object:
            jobs.append(job)
            return None

        return run

    def run_app(app: web.Application, **_kw: Any) -> None:
        async def go() -> None:
            runner = web.AppRunner(app)
            await runner.setup()  # the lifecycle: registry, scheduler
            try:
                scheduler = app[server.RUNTIME].scheduler
                assert scheduler is not None
                await scheduler.run_once()
                await app[server.RUNTIME].queue.drain(5)
            finally:
                await runner.cleanup()

        asyncio.run(go())

    monkeypatch.setattr(server, "_default_execute", capture)
    monkeypatch.setattr(web, "run_app", run_app)
    monkeypatch.setattr("bot.app.cli.serve.log_in_background", lambda: None)
    monkeypatch.setattr("bot.app.log.configure", lambda debug=False, quiet=False: None)
    base = {k: "" for k in ("FLUXBOT_GITHUB_APP_ID", "FLUXBOT_GITHUB_PRIVATE_KEY", "GITHUB_TOKEN")}
    result = CliRunner().invoke(main, ["serve", "--port", "0"], env={**base, **env})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return jobs


def test_serve_schedules_the_gitlab_projects(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = serve_one_round(
        monkeypatch,
        {
            "FLUXBOT_GITLAB_WEBHOOK_SECRET": "s",
            "FLUXBOT_GITLAB_TOKEN": "glpat-x",
            "FLUXBOT_GITLAB_PROJECTS": "group/app, group/sub/infra",
            "FLUXBOT_GITHUB_TOKEN": "",
        },
    )
    assert sorted((j.forge, j.repo, j.kind) for j in jobs) == [
        ("gitlab", "group/app", JobKind.UPDATE),
        ("gitlab", "group/sub/infra", JobKind.UPDATE),
    ]


def test_serve_schedules_github_and_gitlab_together(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = serve_one_round(
        monkeypatch,
        {
            "FLUXBOT_GITHUB_WEBHOOK_SECRET": "s",
            "FLUXBOT_GITHUB_TOKEN": "ghp_x",
            "FLUXBOT_GITHUB_REPOSITORIES": "o/a",
            "FLUXBOT_GITLAB_TOKEN": "glpat-x",
            "FLUXBOT_GITLAB_PROJECTS": "group/app",
            "FLUXBOT_GITHUB_API_URL": "http://127.0.0.1:9",  # the bot login lookup fails fast
        },
    )
    assert sorted((j.forge, j.repo) for j in jobs) == [("github", "o/a"), ("gitlab", "group/app")]
