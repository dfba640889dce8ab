"""fluxbot's own events and comment commands: decided once, by ``bot.core.dispatch.jobs_for``.

Regression tests of issue 11: the GitHub normaliser used to drop a ``pull_request.opened`` sent
by the App's bot before dispatch could allow it (own PRs never got a preview on GitHub), and the
queue parsed comment commands with the default names only, so ``/acme-bot reconcile`` on an App
named ``acme-bot`` held the repository's job slot for the whole rollout watch.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from aiohttp.test_utils import TestClient

from bot.adapters.queue import is_detached
from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from bot.core.commands import CommandKind
from bot.core.dispatch import Job, JobKind, jobs_for
from bot.core.events import EventKind
from bot.core.events import github as github_events
from bot.core.events import gitlab as gitlab_events
from tests.support.github_fixtures import WEBHOOK_SECRET
from tests.support.paths import GITLAB_WEBHOOKS
from tests.unit.test_server_webhooks import headers

BOT = "fluxbot[bot]"
GITLAB_SECRET = "gitlab-secret"


def example(examples: dict[str, list[dict[str, Any]]], name: str, action: str) -> Any:
    payload = next(p for p in examples[name] if p.get("action") == action)
    return copy.deepcopy(payload)


def own_pr(examples: dict[str, Any], action: str, login: str = BOT) -> dict[str, Any]:
    """A real ``pull_request`` example, sent by the App's bot on one of its branches; the
    examples have no ``edited``: it is derived from ``opened``, as GitHub sends it."""
    payload: dict[str, Any] = example(
        examples, "pull_request", "opened" if action == "edited" else action
    )
    if action == "edited":
        payload.update(action="edited", changes={"body": {"from": "the old description"}})
    payload["sender"].update(login=login, type="Bot")
    payload["pull_request"]["head"]["ref"] = "fluxbot/ghcr.io-o-app"
    payload["pull_request"]["head"]["repo"] = copy.deepcopy(payload["repository"])
    return payload


def pr_comment(examples: dict[str, Any], body: str, login: str = "alice") -> dict[str, Any]:
    """A real ``issue_comment.created`` example, made a comment on a pull request."""
    payload: dict[str, Any] = example(examples, "issue_comment", "created")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    payload["comment"]["body"] = body
    payload["comment"]["user"].update(login=login, type="User")
    payload["sender"].update(login=login, type="User")
    return payload


class Gate:
    """An ``execute`` seam: records jobs; a command job waits until released."""

    def __init__(self) -> None:
        self.started: list[Job] = []
        self.release = asyncio.Event()

    async def __call__(self, job: Job) -> str:
        self.started.append(job)
        if job.kind is JobKind.COMMAND:
            await self.release.wait()
        return "ok"


async def post(client: TestClient[Any, Any], name: str, payload: dict[str, Any]) -> int:
    body = json.dumps(payload).encode()
    resp = await client.post("/webhooks/github", data=body, headers=headers(name, body))
    return resp.status


async def test_own_pr_opened_on_github_gets_a_preview(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    gate = Gate()
    settings = Settings(github_webhook_secret=WEBHOOK_SECRET, bot_login=BOT)
    client = await aiohttp_client(
        build_app(settings, execute=gate, schedule=False, drain_timeout=1)
    )
    assert await post(client, "pull_request", own_pr(webhook_examples, "opened")) == 202
    assert await post(client, "pull_request", own_pr(webhook_examples, "edited")) == 200
    await asyncio.wait_for(client.app[RUNTIME].queue.wait_idle(), 5)
    assert [(j.kind, j.event.pr_number) for j in gate.started] == [
        (JobKind.PREVIEW, webhook_examples["pull_request"][0]["number"])
    ]


def test_normalisers_translate_and_dispatch_alone_decides(
    webhook_examples: dict[str, Any],
) -> None:
    opened = github_events.normalise("pull_request", own_pr(webhook_examples, "opened"), "d")
    edited = github_events.normalise("pull_request", own_pr(webhook_examples, "edited"), "d")
    assert (opened.kind, edited.kind) == (EventKind.PR_OPENED, EventKind.PR_EDITED)
    assert opened.actor == BOT and opened.actor_is_bot
    assert [j.kind for j in jobs_for(opened, BOT)] == [JobKind.PREVIEW]
    assert jobs_for(edited, BOT) == []  # the description fluxbot itself edited
    assert [j.kind for j in jobs_for(edited, "someone-else[bot]")] == [JobKind.UPDATE]
    # GitLab: the same rule, whatever case GitLab spells the token user's name in
    data = json.loads((GITLAB_WEBHOOKS / "merge_request.json").read_text(encoding="utf-8"))
    data["user"]["username"] = "FluxBot"
    mr = gitlab_events.normalise("Merge Request Hook", data, "d")
    assert mr.kind is EventKind.PR_OPENED and mr.actor == "FluxBot"
    assert [j.kind for j in jobs_for(mr, "fluxbot")] == [JobKind.PREVIEW]
    data["object_attributes"]["action"] = "update"
    assert gitlab_events.normalise("Merge Request Hook", data).kind is EventKind.PR_EDITED
    assert jobs_for(gitlab_events.normalise("Merge Request Hook", data), "fluxbot") == []


async def test_own_gitlab_note_is_ignored_by_the_server(aiohttp_client: Any) -> None:
    gate = Gate()
    settings = Settings(
        github_webhook_secret=WEBHOOK_SECRET,
        gitlab_webhook_secret=GITLAB_SECRET,
        gitlab_bot_login="fluxbot-gl",
    )
    client = await aiohttp_client(
        build_app(settings, execute=gate, schedule=False, drain_timeout=1)
    )
    gate.release.set()
    data = json.loads((GITLAB_WEBHOOKS / "note_merge_request.json").read_text(encoding="utf-8"))
    data["object_attributes"]["note"] = "/fluxbot rebase"
    data["user"]["username"] = "fluxbot-gl"  # fluxbot's own reply quoting a command
    hdrs = {"X-Gitlab-Token": GITLAB_SECRET, "X-Gitlab-Event": "Note Hook"}
    resp = await client.post("/webhooks/gitlab", data=json.dumps(data).encode(), headers=hdrs)
    assert resp.status == 200
    data["user"]["username"] = "root"
    resp = await client.post("/webhooks/gitlab", data=json.dumps(data).encode(), headers=hdrs)
    assert resp.status == 202
    await asyncio.wait_for(client.app[RUNTIME].queue.wait_idle(), 5)
    assert [(j.kind, j.event.actor) for j in gate.started] == [(JobKind.COMMAND, "root")]


async def test_reconcile_command_to_a_renamed_app_does_not_hold_the_repository(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    gate = Gate()
    settings = Settings(github_webhook_secret=WEBHOOK_SECRET, bot_login="acme-bot[bot]")
    client = await aiohttp_client(
        build_app(settings, execute=gate, schedule=False, drain_timeout=1)
    )
    comment = pr_comment(webhook_examples, "Merged, thanks!\n/acme-bot reconcile")
    assert await post(client, "issue_comment", comment) == 202
    # while the watch waits, the repository's next job runs
    rebase = pr_comment(webhook_examples, "@acme-bot rebase")
    assert await post(client, "issue_comment", rebase) == 202
    for _ in range(100):
        if len(gate.started) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(gate.started) == 2, "the reconcile watch held the repository's job slot"
    watch, next_job = gate.started
    assert [c.kind for c in watch.commands] == [CommandKind.RECONCILE] and is_detached(watch)
    assert [c.kind for c in next_job.commands] == [CommandKind.REBASE]
    assert not is_detached(next_job)
    gate.release.set()
    await asyncio.wait_for(client.app[RUNTIME].queue.wait_idle(), 5)


def test_commands_are_parsed_once_with_the_real_names(webhook_examples: dict[str, Any]) -> None:
    def comment_jobs(body: str, login: str = "alice", app: str = "acme-bot[bot]") -> list[Job]:
        event = github_events.normalise("issue_comment", pr_comment(webhook_examples, body, login))
        return jobs_for(event, app)

    [job] = comment_jobs("/acme-bot reconcile\n@fluxbot diff")
    assert [c.kind for c in job.commands] == [CommandKind.RECONCILE, CommandKind.DIFF]
    assert comment_jobs("LGTM, nothing for a bot here") == []
    assert comment_jobs("/other-bot rebase") == []
    assert comment_jobs("/acme-bot rebase", login="acme-bot[bot]") == []  # its own reply
    assert comment_jobs("/acme-bot rebase", login="dependabot[bot]") == []  # another bot
