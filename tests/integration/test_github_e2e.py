"""End to end: signed GitHub deliveries → the real server → plan against the loopback registry →
PRs in the fake GitHub (every request checked against GitHub's OpenAPI).

Real components: Distribution 2.8 (``registry`` fixture), the aiohttp app of ``fluxbot serve``
(in-process, and as a subprocess killed with SIGKILL in the middle of a job), the fake GitHub.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from tests.support.github_fixtures import GITHUB_TEST_TOKEN, WEBHOOK_SECRET
from tests.support.paths import REPO

REPO_NAME = "acme/gitops"
FLUX = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec:
  image: {image}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {{name: app, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  policy:
    semver: {{range: ">=1.0.0"}}
"""
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app}}   # keep this comment
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}
"""


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def push_delivery(
    examples: dict[str, Any], delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    payload = copy.deepcopy(examples["push"][0])
    payload["ref"] = "refs/heads/main"
    payload["deleted"] = False
    payload["repository"]["full_name"] = REPO_NAME
    payload["repository"]["default_branch"] = "main"
    payload["commits"] = [{"added": [], "modified": ["apps/deploy.yaml"], "removed": []}]
    payload["sender"]["login"] = "alice"
    payload.pop("installation", None)
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body),
    }
    return body, headers


def closed_delivery(examples: dict[str, Any], pr: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    payload = copy.deepcopy(next(p for p in examples["pull_request"] if p["action"] == "closed"))
    payload["repository"]["full_name"] = REPO_NAME
    payload["number"] = pr["number"]
    payload["pull_request"].update(number=pr["number"], merged=False)
    payload["pull_request"]["head"]["ref"] = pr["head"]["ref"]
    payload["pull_request"]["head"]["repo"] = {"full_name": REPO_NAME}
    payload["sender"]["login"] = "alice"
    payload.pop("installation", None)
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body),
    }
    return body, headers


@pytest.fixture
def gitops(github_fake: Any, registry: Any) -> Iterator[tuple[Any, str]]:
    image = f"{registry.host}/e2e/app-{uuid.uuid4().hex[:8]}"
    registry.seed(image.split("/", 1)[1], ["1.0.0", "1.1.0"])
    github_fake.create_repo(
        REPO_NAME,
        {
            "flux/images.yaml": FLUX.format(image=image),
            "apps/deploy.yaml": DEPLOY.format(image=image),
            "README.md": "gitops\n",
        },
    )
    yield github_fake, image


def settings_for(fake: Any, registry: Any) -> Settings:
    return Settings(
        github_api_url=fake.url,
        github_token=GITHUB_TEST_TOKEN,
        github_webhook_secret=WEBHOOK_SECRET,
        github_write_interval=0.0,
        insecure_registries=(registry.host,),
    )


def open_pulls(fake: Any) -> list[dict[str, Any]]:
    return [p for p in fake.pulls(REPO_NAME) if p["state"] == "open"]


async def test_push_to_pr_lifecycle(
    aiohttp_client: Any, gitops: tuple[Any, str], registry: Any, webhook_examples: dict[str, Any]
) -> None:
    from bot.adapters.registry import RegistryClient
    from bot.adapters.registry.cache import MemoryTagCache

    fake, image = gitops
    settings = settings_for(fake, registry)
    # no tag cache: the test publishes new tags and expects the very next plan to see them
    tags = RegistryClient(insecure=settings.insecure_registries, cache=MemoryTagCache(ttl=0.0))
    async with tags:
        app = build_app(settings, registry=tags, schedule=False)
        client = await aiohttp_client(app)
        await _lifecycle(client, fake, image, registry, webhook_examples)


async def _lifecycle(
    client: Any, fake: Any, image: str, registry: Any, webhook_examples: dict[str, Any]
) -> None:
    queue = client.app[RUNTIME].queue

    async def deliver(body: bytes, headers: dict[str, str]) -> int:
        resp = await client.post("/webhooks/github", data=body, headers=headers)
        await asyncio.wait_for(queue.wait_idle(), 60)
        return resp.status

    # a signed push → a PR with the edit
    body, headers = push_delivery(webhook_examples, "delivery-1")
    assert await deliver(body, headers) == 202
    pulls = open_pulls(fake)
    assert len(pulls) == 1, fake.requests
    pr = pulls[0]
    branch = pr["head"]["ref"]
    assert branch.startswith("fluxbot/")
    files = fake.files(REPO_NAME, branch)
    assert files["apps/deploy.yaml"] == DEPLOY.format(image=image).replace(
        "app:1.0.0", "app:1.1.0"
    ).replace(f"{image}:1.0.0", f"{image}:1.1.0")
    assert files["README.md"] == "gitops\n"
    assert "1.1.0" in pr["title"] and "<!-- fluxbot:" in pr["body"]

    # the same delivery again → deduplicated, nothing new
    writes = len([r for r in fake.requests if r[0] != "GET"])
    assert await deliver(body, headers) == 200
    assert len([r for r in fake.requests if r[0] != "GET"]) == writes
    assert len(fake.pulls(REPO_NAME)) == 1

    # a newer tag → the same PR and branch move to it
    registry.seed(image.split("/", 1)[1], ["1.2.0"])
    assert await deliver(*push_delivery(webhook_examples)) == 202
    pulls = fake.pulls(REPO_NAME)
    assert len(pulls) == 1 and pulls[0]["number"] == pr["number"]
    assert "1.2.0" in pulls[0]["title"]
    assert f"{image}:1.2.0" in fake.files(REPO_NAME, branch)["apps/deploy.yaml"]

    # closed without merge → that version (and below) is not proposed again
    fake.close_pull(REPO_NAME, pr["number"])
    assert await deliver(*closed_delivery(webhook_examples, pulls[0])) == 202
    assert await deliver(*push_delivery(webhook_examples)) == 202
    assert open_pulls(fake) == []
    # a still newer version is proposed again, in a new PR
    registry.seed(image.split("/", 1)[1], ["1.3.0"])
    assert await deliver(*push_delivery(webhook_examples)) == 202
    pulls = open_pulls(fake)
    assert len(pulls) == 1 and pulls[0]["number"] != pr["number"] and "1.3.0" in pulls[0]["title"]
    metrics = await (await client.get("/metrics")).text()
    assert 'fluxbot_jobs_total{kind="update",outcome="ok"}' in metrics
    assert 'fluxbot_pull_requests_total{action="opened",forge="github"} 2.0' in metrics
    assert re.search(r'fluxbot_registry_requests_total\{kind="tags"\} [1-9]', metrics), metrics
    assert "fluxbot_job_seconds_bucket" in metrics and "fluxbot_webhook_delivery_seconds" in metrics
    assert re.search(r'fluxbot_forge_requests_total\{forge="github",outcome="ok"\} [1-9]', metrics)
    assert 'fluxbot_pull_requests_total{action="updated",forge="github"}' in metrics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(fake: Any, registry: Any, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FLUXBOT_GITHUB_API_URL": fake.url,
        "FLUXBOT_GITHUB_TOKEN": GITHUB_TEST_TOKEN,
        "FLUXBOT_GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FLUXBOT_GITHUB_WRITE_INTERVAL": "0",
        "FLUXBOT_INSECURE_REGISTRIES": registry.host,
    }
    env.pop("GITHUB_TOKEN", None)
    cmd = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--no-schedule"]
    return subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "fluxbot serve exited"
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("fluxbot serve did not become ready")


async def _post(port: int, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/webhooks/github", data=body, headers=headers
        ) as resp,
    ):
        return resp.status


async def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def _quiet(fake: Any, period: float = 0.5, timeout: float = 30) -> None:
    """Until the fake has seen no request for ``period`` seconds (the job is done)."""
    deadline = time.monotonic() + timeout
    last, since = len(fake.requests), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if len(fake.requests) != last:
            last, since = len(fake.requests), time.monotonic()
        elif time.monotonic() - since >= period:
            return
    raise AssertionError("the fake never went quiet")


def _fluxbot_branches(fake: Any) -> list[str]:
    return [r for r in fake.repos[REPO_NAME].refs if r.startswith("heads/fluxbot/")]


async def test_killed_mid_job_and_restarted_converges_without_duplicates(
    gitops: tuple[Any, str], registry: Any, webhook_examples: dict[str, Any]
) -> None:
    fake, image = gitops
    port = _free_port()
    fake.hang_next(60, method="POST", path_contains=f"/repos/{REPO_NAME}/pulls")
    proc = _serve(fake, registry, port)
    try:
        await _wait_ready(port, proc)
        assert await _post(port, *push_delivery(webhook_examples)) == 202
        await _until(lambda: fake.hung)  # branch committed, PR creation in flight
        proc.send_signal(signal.SIGKILL)  # killed in the middle of the job
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    await _until(lambda: fake.dropped)
    assert fake.pulls(REPO_NAME) == []
    assert len(_fluxbot_branches(fake)) == 1  # half done: a branch without its PR
    first_commit = fake.repos[REPO_NAME].refs[_fluxbot_branches(fake)[0]]
    proc = _serve(fake, registry, port)
    try:
        await _wait_ready(port, proc)
        for _ in range(2):  # the next runs converge, and stay converged
            assert await _post(port, *push_delivery(webhook_examples)) == 202
            await _until(lambda: len(fake.pulls(REPO_NAME)) >= 1)
            await _quiet(fake)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0  # graceful shutdown
    pulls = fake.pulls(REPO_NAME)
    assert len(pulls) == 1, pulls
    assert _fluxbot_branches(fake) == [f"heads/{pulls[0]['head']['ref']}"]
    assert fake.repos[REPO_NAME].refs[_fluxbot_branches(fake)[0]] == first_commit  # no recommit
    assert f"{image}:1.1.0" in fake.files(REPO_NAME, pulls[0]["head"]["ref"])["apps/deploy.yaml"]


async def test_sigterm_mid_job_drains_it_before_exiting(
    gitops: tuple[Any, str], registry: Any, webhook_examples: dict[str, Any]
) -> None:
    """``fluxbot serve`` got SIGTERM while a job waits on GitHub: it stops taking deliveries,
    lets the job finish (the PR appears), then exits 0."""
    fake, image = gitops
    port = _free_port()
    fake.hang_next(2.0, method="POST", path_contains=f"/repos/{REPO_NAME}/pulls")
    proc = _serve(fake, registry, port)
    try:
        await _wait_ready(port, proc)
        assert await _post(port, *push_delivery(webhook_examples)) == 202
        await _until(lambda: fake.hung)  # PR creation in flight
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert fake.dropped == []  # the held request was not abandoned
    (pull,) = fake.pulls(REPO_NAME)
    assert f"{image}:1.1.0" in fake.files(REPO_NAME, pull["head"]["ref"])["apps/deploy.yaml"]


async def test_server_logs_hold_no_secret(
    gitops: tuple[Any, str], registry: Any, webhook_examples: dict[str, Any]
) -> None:
    """Canary for ``fluxbot --debug serve``: the token (refused by GitHub, so the start-up login
    lookup and the job fail and log errors) and the webhook secret appear nowhere in its output."""
    fake, _image = gitops
    port = _free_port()
    token = "ghp_SERVERCANARY_0123456789abcdef0123456789"
    env = {
        **os.environ,
        "FLUXBOT_GITHUB_API_URL": fake.url,
        "FLUXBOT_GITHUB_TOKEN": token,
        "FLUXBOT_GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FLUXBOT_INSECURE_REGISTRIES": registry.host,
        "FLUXBOT_GITHUB_REPOSITORIES": REPO_NAME,
    }
    env.pop("GITHUB_TOKEN", None)
    cmd = [sys.executable, "-m", "bot", "--debug", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        await _wait_ready(port, proc)
        assert await _post(port, *push_delivery(webhook_examples)) == 202
        await _until(lambda: any(s == 401 for _m, _p, s in fake.requests))
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = out.decode()
    assert "HTTP 401" in text, text[-3000:]  # the failure is reported...
    assert token not in text and WEBHOOK_SECRET not in text  # ...without the secrets
