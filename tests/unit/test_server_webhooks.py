"""The real aiohttp app (pytest-aiohttp) fed signed payloads from @octokit/webhooks-examples."""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from bot.core.dispatch import Job, JobKind
from tests.support.github_fixtures import WEBHOOK_SECRET

SETTINGS = Settings(github_webhook_secret=WEBHOOK_SECRET, max_body_bytes=64 * 1024)


def sign(body: bytes, secret: str = WEBHOOK_SECRET, algo: str = "sha256") -> str:
    return f"{algo}=" + hmac.new(secret.encode(), body, algo).hexdigest()


def headers(event: str, body: bytes, delivery: str | None = None, **extra: str) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body),
    }
    out.update(extra)
    return out


class Recorder:
    def __init__(self, delay: float = 0.0) -> None:
        self.jobs: list[Job] = []
        self.delay = delay
        self.finished = 0

    async def __call__(self, job: Job) -> str:
        self.jobs.append(job)
        await asyncio.sleep(self.delay)
        self.finished += 1
        return "ok"


def push_payload(examples: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(
        next(
            p
            for p in examples["push"]
            if p["ref"] == f"refs/heads/{p['repository']['default_branch']}" and not p["deleted"]
        )
    )
    payload["commits"] = [{"added": [], "modified": ["apps/app.yaml"], "removed": []}]
    return payload


async def client_for(aiohttp_client: Any, recorder: Recorder, settings: Settings = SETTINGS) -> Any:
    app = build_app(settings, execute=recorder, schedule=False)
    return await aiohttp_client(app)


async def test_signed_push_is_accepted_and_run_in_background(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    recorder = Recorder(delay=0.5)
    client: TestClient[Any, Any] = await client_for(aiohttp_client, recorder)
    body = json.dumps(push_payload(webhook_examples)).encode()
    start = time.perf_counter()
    resp = await client.post("/webhooks/github", data=body, headers=headers("push", body))
    elapsed = time.perf_counter() - start
    assert resp.status == 202
    assert elapsed < 0.25  # answered before the (slow) job finished
    rt = client.app[RUNTIME]
    await asyncio.wait_for(rt.queue.wait_idle(), 5)
    assert [j.kind for j in recorder.jobs] == [JobKind.UPDATE]
    assert recorder.jobs[0].repo == webhook_examples["push"][0]["repository"]["full_name"]


async def test_forged_unsigned_sha1_only_oversized_and_replayed(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    recorder = Recorder()
    client = await client_for(aiohttp_client, recorder)
    body = json.dumps(push_payload(webhook_examples)).encode()
    url = "/webhooks/github"
    forged = headers("push", body, **{"X-Hub-Signature-256": sign(body, "wrong secret")})
    assert (await client.post(url, data=body, headers=forged)).status == 401
    tampered = headers("push", body)
    assert (await client.post(url, data=body + b" ", headers=tampered)).status == 401
    unsigned = headers("push", body)
    del unsigned["X-Hub-Signature-256"]
    assert (await client.post(url, data=body, headers=unsigned)).status == 401
    sha1_only = {**unsigned, "X-Hub-Signature": sign(body, algo="sha1")}
    assert (await client.post(url, data=body, headers=sha1_only)).status == 401
    big = json.dumps({**push_payload(webhook_examples), "pad": "x" * 70_000}).encode()
    assert (await client.post(url, data=big, headers=headers("push", big))).status == 413
    not_json = b"payload=%7B%7D"
    form = headers("push", not_json, **{"Content-Type": "text/plain"})
    assert (await client.post(url, data=not_json, headers=form)).status in (400, 415)
    once = headers("push", body, delivery="fixed-delivery-id")
    assert (await client.post(url, data=body, headers=once)).status == 202
    replay = await client.post(url, data=body, headers=once)
    assert replay.status == 200 and (await replay.json())["result"] == "duplicate"
    await client.app[RUNTIME].queue.wait_idle()
    assert len(recorder.jobs) == 1
    metrics = await (await client.get("/metrics")).text()
    rejected = 'fluxbot_webhook_deliveries_total{event="push",forge="github",result="rejected"}'
    assert f"{rejected} 6.0" in metrics, metrics
    assert 'result="duplicate"} 1.0' in metrics and 'result="accepted"} 1.0' in metrics


async def test_a_forged_delivery_does_not_burn_its_delivery_id(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    recorder = Recorder()
    client = await client_for(aiohttp_client, recorder)
    body = json.dumps(push_payload(webhook_examples)).encode()
    forged = headers("push", body, delivery="d-1", **{"X-Hub-Signature-256": sign(body, "nope")})
    assert (await client.post("/webhooks/github", data=body, headers=forged)).status == 401
    real = headers("push", body, delivery="d-1")
    assert (await client.post("/webhooks/github", data=body, headers=real)).status == 202


async def test_every_example_payload_is_answered_without_error(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    recorder = Recorder()
    client = await client_for(
        aiohttp_client, recorder, Settings(github_webhook_secret=WEBHOOK_SECRET)
    )
    statuses: dict[int, int] = {}
    for name, payloads in webhook_examples.items():
        for payload in payloads:
            body = json.dumps(payload).encode()
            resp = await client.post("/webhooks/github", data=body, headers=headers(name, body))
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
    assert set(statuses) <= {200, 202}, statuses
    assert statuses[202] >= 3  # pushes to the default branch, PRs opened, installations


async def test_ping_health_ready_and_no_secret(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client, Recorder())
    body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    resp = await client.post("/webhooks/github", data=body, headers=headers("ping", body))
    assert resp.status == 200 and (await resp.json())["result"] == "pong"
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["ready"] is True
    metrics = await client.get("/metrics")
    assert metrics.status == 200 and "text/plain" in metrics.headers["Content-Type"]
    assert "fluxbot_jobs_total" in await metrics.text() or "fluxbot_jobs" in await metrics.text()
    bare = await client_for(aiohttp_client, Recorder(), Settings())
    resp = await bare.post("/webhooks/github", data=body, headers=headers("ping", body))
    assert resp.status == 503


async def test_gitlab_module_is_mounted_when_present(aiohttp_client: Any) -> None:
    client = await client_for(aiohttp_client, Recorder())
    resp = await client.post("/webhooks/gitlab", data=b"{}", headers={"X-Gitlab-Token": "nope"})
    assert resp.status == 401


async def test_shutdown_drains_running_jobs(
    aiohttp_server: Any, webhook_examples: dict[str, Any]
) -> None:
    import aiohttp

    recorder = Recorder(delay=0.3)
    app = build_app(SETTINGS, execute=recorder, schedule=False, drain_timeout=5)
    server = await aiohttp_server(app)
    body = json.dumps(push_payload(webhook_examples)).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.make_url("/webhooks/github"), data=body, headers=headers("push", body)
        ) as resp,
    ):
        assert resp.status == 202
    await asyncio.sleep(0.05)
    assert recorder.jobs and recorder.finished == 0  # running
    await server.close()  # runs shutdown + cleanup: the queue drains
    assert recorder.finished == 1


@pytest.mark.parametrize("n", [50])
async def test_burst_of_pushes_coalesces_into_few_plans(
    aiohttp_client: Any, webhook_examples: dict[str, Any], n: int
) -> None:
    recorder = Recorder(delay=1.0)
    client = await client_for(aiohttp_client, recorder)
    body = json.dumps(push_payload(webhook_examples)).encode()
    for _ in range(n):
        resp = await client.post("/webhooks/github", data=body, headers=headers("push", body))
        assert resp.status == 202
    await client.app[RUNTIME].queue.wait_idle()
    assert 1 <= len(recorder.jobs) <= 3


def test_app_is_an_aiohttp_application() -> None:
    assert isinstance(build_app(SETTINGS, execute=Recorder(), schedule=False), web.Application)


async def test_while_draining_deliveries_get_503_and_stay_unclaimed(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    recorder = Recorder()
    client = await client_for(aiohttp_client, recorder)
    rt = client.app[RUNTIME]
    body = json.dumps(push_payload(webhook_examples)).encode()
    rt.ready = False  # what shutdown sets before draining the queue
    resp = await client.post("/webhooks/github", data=body, headers=headers("push", body, "d-9"))
    assert resp.status == 503
    assert (await client.get("/readyz")).status == 503
    rt.ready = True
    resp = await client.post("/webhooks/github", data=body, headers=headers("push", body, "d-9"))
    assert resp.status == 202  # the redelivery is not mistaken for a duplicate


async def test_a_big_signed_delivery_is_verified_off_the_loop(
    aiohttp_client: Any, webhook_examples: dict[str, Any]
) -> None:
    recorder = Recorder()
    client = await client_for(
        aiohttp_client, recorder, Settings(github_webhook_secret=WEBHOOK_SECRET)
    )
    payload = push_payload(webhook_examples)
    payload["commits"] = [
        {"added": [f"apps/{i}.yaml" for i in range(20_000)], "modified": [], "removed": []}
    ]
    body = json.dumps(payload).encode()
    assert len(body) > 256 * 1024
    resp = await client.post("/webhooks/github", data=body, headers=headers("push", body))
    assert resp.status == 202
    forged = headers("push", body, **{"X-Hub-Signature-256": sign(body, "other")})
    assert (await client.post("/webhooks/github", data=body, headers=forged)).status == 401
