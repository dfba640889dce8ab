"""``POST /webhooks/gitlab`` through aiohttp on loopback, with real-shaped GitLab payloads.

401 only for a missing/wrong token; every authentic delivery gets 2xx (GitLab disables hooks that
answer 4xx); redeliveries (same ``Idempotency-Key``) enqueue nothing; accepted ones answer 202.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from bot.app.settings import Settings
from bot.app.webhooks import ServerState
from bot.app.webhooks.gitlab import ROUTE, authentic, setup
from bot.core.dispatch import Job, JobKind
from tests.support.gitlab_fake import FakeGitLab
from tests.support.paths import GITLAB_WEBHOOKS

SECRET = "s3cret-token"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GITLAB_WEBHOOKS / name).read_text(encoding="utf-8"))
    return data


def push_body() -> bytes:
    data = payload("push.json")
    data["total_commits_count"] = len(data["commits"])
    data["commits"][0]["modified"] = ["apps/deploy.yaml"]
    return json.dumps(data).encode()


def headers(hook: str, key: str | None = "key-1", token: str | None = SECRET) -> dict[str, str]:
    out = {"Content-Type": "application/json", "X-Gitlab-Event": hook}
    if token is not None:
        out["X-Gitlab-Token"] = token
    if key is not None:
        out["Idempotency-Key"] = key
    return out


class Harness:
    def __init__(self, max_body: int = 1024 * 1024) -> None:
        settings = Settings(
            gitlab_webhook_secret=SECRET, bot_login="fluxbot", max_body_bytes=max_body
        )
        self.jobs: list[Job] = []

        async def enqueue(job: Job) -> None:
            self.jobs.append(job)

        self.state = ServerState(settings=settings, enqueue=enqueue)
        self.app = web.Application()
        setup(self.app, self.state)

    def count(self, event: str, result: str) -> float:
        value = self.state.metrics.registry.get_sample_value(
            "fluxbot_webhook_deliveries_total",
            {"forge": "gitlab", "event": event, "result": result},
        )
        return value or 0.0


@pytest.fixture
def harness() -> Harness:
    return Harness()


async def test_push_accepted_then_redelivery_deduplicated(
    aiohttp_client: Any, harness: Harness
) -> None:
    client = await aiohttp_client(harness.app)
    resp = await client.post(ROUTE, data=push_body(), headers=headers("Push Hook"))
    assert resp.status == 202
    assert (await resp.json()) == {"result": "accepted", "jobs": ["update"]}
    [job] = harness.jobs
    assert (job.kind, job.forge, job.repo) == (JobKind.UPDATE, "gitlab", "mike/diaspora")
    assert job.event.delivery_id == "key-1"
    again = await client.post(ROUTE, data=push_body(), headers=headers("Push Hook"))
    assert again.status == 200 and (await again.json())["result"] == "duplicate"
    assert len(harness.jobs) == 1
    assert harness.count("Push Hook", "accepted") == 1
    assert harness.count("Push Hook", "duplicate") == 1


async def test_event_uuid_is_the_fallback_key(aiohttp_client: Any, harness: Harness) -> None:
    client = await aiohttp_client(harness.app)
    hdrs = headers("Push Hook", key=None) | {"X-Gitlab-Event-UUID": "uuid-7"}
    assert (await client.post(ROUTE, data=push_body(), headers=hdrs)).status == 202
    assert (await client.post(ROUTE, data=push_body(), headers=hdrs)).status == 200
    assert len(harness.jobs) == 1 and harness.jobs[0].event.delivery_id == "uuid-7"
    # the same recursion id on another hook or payload fired in the same request: not a retry
    mr = json.dumps(payload("merge_request.json"))
    mr_hdrs = headers("Merge Request Hook", key=None) | {"X-Gitlab-Event-UUID": "uuid-7"}
    assert (await client.post(ROUTE, data=mr, headers=mr_hdrs)).status == 202
    other = json.loads(push_body())
    other["after"] = "f" * 40
    assert (await client.post(ROUTE, data=json.dumps(other), headers=hdrs)).status == 202
    assert len(harness.jobs) == 3
    # no id at all: nothing to deduplicate on, each delivery counts
    bare = headers("Push Hook", key=None)
    assert (await client.post(ROUTE, data=push_body(), headers=bare)).status == 202
    assert (await client.post(ROUTE, data=push_body(), headers=bare)).status == 202
    assert len(harness.jobs) == 5


@pytest.mark.parametrize("token", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_bad_or_missing_token_is_401(
    aiohttp_client: Any, harness: Harness, token: str | None
) -> None:
    client = await aiohttp_client(harness.app)
    resp = await client.post(ROUTE, data=push_body(), headers=headers("Push Hook", token=token))
    assert resp.status == 401
    assert harness.jobs == []
    assert harness.count("Push Hook", "rejected") == 1


async def test_no_secret_configured_refuses_everything(aiohttp_client: Any) -> None:
    h = Harness()
    h.state.settings = Settings(gitlab_webhook_secret=None)
    client = await aiohttp_client(h.app)
    resp = await client.post(ROUTE, data=push_body(), headers=headers("Push Hook", token=""))
    assert resp.status == 401
    assert not authentic("", None) and not authentic(None, "x") and authentic("x", "x")


async def test_a_bad_token_is_refused_before_the_body_is_read(aiohttp_client: Any) -> None:
    h = Harness(max_body=10)
    client = await aiohttp_client(h.app)
    big = b"{" + b" " * 10_000 + b"}"
    assert (
        await client.post(ROUTE, data=big, headers=headers("Push Hook", token="no"))
    ).status == 401


@pytest.mark.parametrize(
    ("hook", "name", "kind"),
    [
        ("Merge Request Hook", "merge_request.json", JobKind.PREVIEW),
        ("Note Hook", "note_merge_request.json", JobKind.COMMAND),
    ],
)
async def test_mr_and_note_hooks_enqueue(
    aiohttp_client: Any, harness: Harness, hook: str, name: str, kind: JobKind
) -> None:
    client = await aiohttp_client(harness.app)
    data = payload(name)
    if kind is JobKind.COMMAND:  # the example's note gives no command (then no job is due)
        data["object_attributes"]["note"] += "\n/fluxbot diff"
    resp = await client.post(ROUTE, data=json.dumps(data), headers=headers(hook))
    assert resp.status == 202
    assert [j.kind for j in harness.jobs] == [kind]


async def test_merged_fluxbot_mr_enqueues_reconcile_and_update(
    aiohttp_client: Any, harness: Harness
) -> None:
    data = payload("merge_request.json")
    data["object_attributes"].update(action="merge", state="merged", source_branch="fluxbot/app")
    client = await aiohttp_client(harness.app)
    resp = await client.post(ROUTE, data=json.dumps(data), headers=headers("Merge Request Hook"))
    assert resp.status == 202
    assert [j.kind for j in harness.jobs] == [JobKind.RECONCILE, JobKind.UPDATE]


@pytest.mark.parametrize(
    ("hook", "body", "reason"),
    [
        ("Issue Hook", json.dumps(payload("issue.json")).encode(), None),
        ("Pipeline Hook", json.dumps(payload("pipeline.json")).encode(), None),
        ("Note Hook", json.dumps(payload("note_commit.json")).encode(), None),
        ("Push Hook", b"not json", "malformed payload"),
        ("Push Hook", json.dumps(payload("merge_request.json")).encode(), "malformed payload"),
        ("Push Hook", b"[]", "malformed payload"),
        ("Push Hook", b"[" * 100_000 + b"]" * 100_000, "malformed payload"),
        ("Push Hook", b"\xff\xfe{}", "malformed payload"),
    ],
)
async def test_authentic_but_ignored_is_2xx(
    aiohttp_client: Any, harness: Harness, hook: str, body: bytes, reason: str | None
) -> None:
    client = await aiohttp_client(harness.app)
    resp = await client.post(ROUTE, data=body, headers=headers(hook))
    assert resp.status == 200
    data = await resp.json()
    assert data["result"] == "ignored" and data.get("reason") == reason
    assert harness.jobs == []


async def test_bot_note_and_feature_push_are_2xx_without_jobs(
    aiohttp_client: Any, harness: Harness
) -> None:
    note = payload("note_merge_request.json")
    note["user"]["username"] = "fluxbot"
    push = payload("push.json")
    push["ref"] = "refs/heads/feature"
    client = await aiohttp_client(harness.app)
    for hook, data in (("Note Hook", note), ("Push Hook", push)):
        resp = await client.post(ROUTE, data=json.dumps(data), headers=headers(hook, key=hook))
        assert resp.status == 200
    assert harness.jobs == []


async def test_oversized_body_is_refused_but_2xx(aiohttp_client: Any) -> None:
    h = Harness(max_body=1000)
    client = await aiohttp_client(h.app)
    resp = await client.post(ROUTE, data=push_body(), headers=headers("Push Hook"))
    assert resp.status == 200 and (await resp.json())["reason"] == "body too large"
    assert h.jobs == []
    assert h.count("Push Hook", "rejected") == 1


async def test_draining_server_answers_503_and_keeps_the_id_unclaimed(
    aiohttp_client: Any, harness: Harness
) -> None:
    client = await aiohttp_client(harness.app)
    harness.state.accepting = lambda: False
    resp = await client.post(ROUTE, data=push_body(), headers=headers("Push Hook", key="k-9"))
    assert resp.status == 503 and harness.jobs == []
    harness.state.accepting = lambda: True  # restarted: GitLab's retry is processed
    resp = await client.post(ROUTE, data=push_body(), headers=headers("Push Hook", key="k-9"))
    assert resp.status == 202 and len(harness.jobs) == 1


async def test_a_large_delivery_is_read_whole(aiohttp_client: Any) -> None:
    # a multi-megabyte body arrives in many TCP chunks: all of them must be read, not only the
    # ones already buffered when the handler starts (else it parses as malformed and is dropped)
    h = Harness(max_body=8 * 1024 * 1024)
    data = json.loads(push_body())
    data["padding"] = "x" * 3_000_000
    body = json.dumps(data).encode()
    client = await aiohttp_client(h.app)
    resp = await client.post(ROUTE, data=io.BytesIO(body), headers=headers("Push Hook"))
    assert resp.status == 202, await resp.text()
    assert [j.kind for j in h.jobs] == [JobKind.UPDATE]
    # one byte over the cap: refused (2xx), whether or not Content-Length announced it
    small = Harness(max_body=len(body) - 1)
    client = await aiohttp_client(small.app)

    async def chunks() -> Any:
        for at in range(0, len(body), 65536):
            yield body[at : at + 65536]

    resp = await client.post(ROUTE, data=chunks(), headers=headers("Push Hook", key="k-2"))
    assert resp.status == 200 and (await resp.json())["reason"] == "body too large"
    assert small.jobs == []


def mr_edit_by(user: str) -> bytes:
    data = payload("merge_request.json")
    data["user"]["username"] = user
    data["object_attributes"].update(action="update", source_branch="fluxbot/app")
    data["object_attributes"].pop("oldrev", None)
    return json.dumps(data).encode()


async def test_own_mr_edit_is_ignored_by_the_gitlab_login(aiohttp_client: Any) -> None:
    # the GitHub App's login is something else entirely: the GitLab login decides
    h = Harness()
    h.state.settings = replace(h.state.settings, bot_login="app[bot]", gitlab_bot_login="glbot")
    client = await aiohttp_client(h.app)
    own = await client.post(ROUTE, data=mr_edit_by("glbot"), headers=headers("Merge Request Hook"))
    assert own.status == 200 and (await own.json())["result"] == "ignored"
    assert h.jobs == []
    hdrs = headers("Merge Request Hook", key="k-2")
    human = await client.post(ROUTE, data=mr_edit_by("alice"), headers=hdrs)
    assert human.status == 202 and [j.kind for j in h.jobs] == [JobKind.UPDATE]


async def test_gitlab_login_is_learnt_from_the_token_at_startup(aiohttp_client: Any) -> None:
    fake = FakeGitLab(bot="gitops-robot")  # no bot-like name: only GET /user can tell
    await fake.start()
    try:
        h = Harness()
        h.state.settings = replace(
            h.state.settings, bot_login="app[bot]", gitlab_url=fake.url, gitlab_token=fake.token
        )
        client = await aiohttp_client(h.app)
        assert h.state.settings.gitlab_bot_login == "gitops-robot"
        assert [c.path for c in fake.calls("GET", "/user$")] == ["/user"]
        resp = await client.post(
            ROUTE, data=mr_edit_by("gitops-robot"), headers=headers("Merge Request Hook")
        )
        assert resp.status == 200 and h.jobs == []
    finally:
        await fake.close()
    assert fake.violations == []


async def test_an_unreachable_gitlab_at_startup_falls_back(aiohttp_client: Any) -> None:
    h = Harness()
    h.state.settings = replace(
        h.state.settings, gitlab_url="http://127.0.0.1:9", gitlab_token="t", bot_login="glbot"
    )
    client = await aiohttp_client(h.app)  # starts anyway
    assert h.state.settings.gitlab_bot_login is None
    resp = await client.post(ROUTE, data=mr_edit_by("glbot"), headers=headers("Merge Request Hook"))
    assert resp.status == 200 and h.jobs == []  # FLUXBOT_BOT_LOGIN still counts


async def test_a_hanging_gitlab_delays_startup_only_briefly(aiohttp_client: Any) -> None:
    fake = FakeGitLab()
    await fake.start()
    fake.hang_next("GET", "/user$", seconds=30)
    try:
        h = Harness()
        h.state.settings = replace(h.state.settings, gitlab_url=fake.url, gitlab_token=fake.token)
        started = time.monotonic()
        await aiohttp_client(h.app)
        assert time.monotonic() - started < 10  # the 5 s timeout, not GitLab's 30 s
        assert h.state.settings.gitlab_bot_login == fake.bot  # the one retry was answered
    finally:
        await fake.close()
