"""GitHub App mode against the fake: the App's login learnt at startup (so its own events are
ignored), and the scheduler's source enumerating installations and their repositories."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

from bot.adapters.github.auth import TokenCache, app_repositories
from bot.app.scheduler import Scheduler
from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from bot.core.events import EventKind
from tests.support.github_fixtures import WEBHOOK_SECRET


def app_settings(fake: Any) -> Settings:
    return Settings(
        github_api_url=fake.url,
        github_app_id=fake.app_id,
        github_private_key=fake.private_key,
        github_webhook_secret=WEBHOOK_SECRET,
    )


async def test_scheduler_source_lists_every_installed_repository(github_fake: Any) -> None:
    for name in ("a/one", "a/two", "b/three"):
        github_fake.create_repo(name)
    github_fake.add_installation(1, ["a/one", "a/two"])
    github_fake.add_installation(2, ["b/three"])
    submitted: list[Any] = []

    async def submit(event: Any) -> None:
        submitted.append(event)

    source = app_repositories(app_settings(github_fake), TokenCache())
    count = await Scheduler(60, [source], submit).run_once()
    assert count == 3
    assert [(e.repo, e.installation_id, e.kind) for e in submitted] == [
        ("a/one", 1, EventKind.SCHEDULE),
        ("a/two", 1, EventKind.SCHEDULE),
        ("b/three", 2, EventKind.SCHEDULE),
    ]


async def test_server_learns_the_app_login_and_ignores_its_own_events(
    aiohttp_client: Any, github_fake: Any, webhook_examples: dict[str, Any]
) -> None:
    github_fake.app_slug = "acme-fluxbot"
    jobs: list[Any] = []

    async def execute(job: Any) -> None:
        jobs.append(job)

    client = await aiohttp_client(
        build_app(app_settings(github_fake), execute=execute, schedule=False)
    )
    state = client.app[RUNTIME].state
    assert state.settings.bot_login == "acme-fluxbot[bot]"
    payload = copy.deepcopy(
        next(p for p in webhook_examples["pull_request"] if p["action"] == "opened")
    )
    payload["action"] = "edited"
    payload["pull_request"]["head"]["ref"] = "fluxbot/app"
    payload["pull_request"]["head"]["repo"] = copy.deepcopy(payload["repository"])
    payload["sender"]["login"] = "acme-fluxbot[bot]"
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "own-1",
        "X-Hub-Signature-256": "sha256="
        + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    resp = await client.post("/webhooks/github", data=body, headers=headers)
    assert resp.status == 200 and (await resp.json())["result"] == "ignored"
    assert jobs == []


async def test_token_mode_schedules_the_listed_repositories_and_learns_its_login(
    aiohttp_client: Any, github_fake: Any, webhook_examples: dict[str, Any]
) -> None:
    """Without an App there are no installations to enumerate: the scheduler re-plans
    FLUXBOT_GITHUB_REPOSITORIES, and the token's own login (GET /user) marks fluxbot's events."""
    from tests.support.github_fixtures import GITHUB_TEST_TOKEN

    github_fake.add_token(GITHUB_TEST_TOKEN, login="acme-bot", type="User")
    jobs: list[Any] = []

    async def execute(job: Any) -> None:
        jobs.append(job)

    settings = Settings(
        github_api_url=github_fake.url,
        github_token=GITHUB_TEST_TOKEN,
        github_webhook_secret=WEBHOOK_SECRET,
    )
    app = build_app(settings, execute=execute, repositories=("o/one", "o/two"))
    client = await aiohttp_client(app)
    rt = client.app[RUNTIME]
    assert rt.state.settings.bot_login == "acme-bot"
    assert rt.scheduler is not None
    assert await rt.scheduler.run_once() == 2
    await rt.queue.wait_idle()
    assert sorted((j.repo, j.kind.value, j.event.installation_id) for j in jobs) == [
        ("o/one", "update", None),
        ("o/two", "update", None),
    ]
    assert ("GET", "/user", 200) in github_fake.requests
    # a push by the token's own user (fluxbot's commits) is not re-planned
    payload = copy.deepcopy(
        next(p for p in webhook_examples["pull_request"] if p["action"] == "opened")
    )
    payload["action"] = "edited"
    payload["pull_request"]["head"]["ref"] = "fluxbot/app"
    payload["pull_request"]["head"]["repo"] = copy.deepcopy(payload["repository"])
    payload["sender"]["login"] = "acme-bot"
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "own-2",
        "X-Hub-Signature-256": "sha256="
        + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    resp = await client.post("/webhooks/github", data=body, headers=headers)
    assert (await resp.json())["result"] == "ignored"


async def test_token_mode_without_repositories_schedules_nothing(github_fake: Any) -> None:
    from bot.app.server import _default_sources

    settings = Settings(github_api_url=github_fake.url, github_token="t")
    assert _default_sources(settings, ()) == []
    app_mode = app_settings(github_fake)
    assert len(_default_sources(app_mode, ("o/ignored",))) == 1
