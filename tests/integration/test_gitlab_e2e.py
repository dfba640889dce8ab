"""End to end on GitLab: authentic deliveries → the real server → ``run_update`` on the loopback
registry → merge requests in the fake GitLab (every request checked against GitLab's documented
API): update, redelivery, newer tag, closed-unmerged, and a SIGKILL mid-job then restart.

Real components: Distribution 2.8 (``registry`` fixture), the aiohttp app of ``fluxbot serve``
(in-process, and as a subprocess killed with SIGKILL), python-gitlab over HTTP to the fake.
"""

from __future__ import annotations

import asyncio
import json
import os
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
from bot.core.markers import PRMarker
from tests.support.gitlab_fake import FakeGitLab
from tests.support.gitlab_fixtures import WEBHOOK_SECRET
from tests.support.paths import GITLAB_WEBHOOKS, REPO

PROJECT = "acme/platform/gitops"
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
apiVersion: apps/v1\r
kind: Deployment\r
metadata: {{name: app}}   # keep this comment\r
spec:\r
  template:\r
    spec:\r
      containers:\r
        - name: app\r
          image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:app"}}\r
"""


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GITLAB_WEBHOOKS / name).read_text(encoding="utf-8"))
    return data


def push_delivery(key: str | None = None) -> tuple[bytes, dict[str, str]]:
    """GitLab's push example, moved onto our project's default branch touching a manifest."""
    data = _example("push.json")
    data["project"].update(path_with_namespace=PROJECT, default_branch="main")
    data["ref"] = "refs/heads/main"
    data["commits"] = [
        {"id": "0" * 39 + "1", "added": [], "modified": ["apps/deploy.yaml"], "removed": []}
    ]
    data["total_commits_count"] = 1
    data["user_username"] = "alice"
    return _delivery("Push Hook", data, key)


def mr_delivery(
    iid: int, branch: str, action: str, user: str = "alice"
) -> tuple[bytes, dict[str, str]]:
    """GitLab's merge request example, patched into ``action`` on our MR by ``user``."""
    data = _example("merge_request.json")
    data["project"].update(path_with_namespace=PROJECT, default_branch="main")
    data["user"]["username"] = user
    data["object_attributes"].update(
        action=action, iid=iid, source_branch=branch, target_branch="main"
    )
    data["object_attributes"].pop("oldrev", None)
    if action == "close":
        data["object_attributes"]["state"] = "closed"
    return _delivery("Merge Request Hook", data, None)


def closed_delivery(iid: int, branch: str) -> tuple[bytes, dict[str, str]]:
    """GitLab's merge request example, patched into a person's close of our MR."""
    return mr_delivery(iid, branch, "close")


def _delivery(hook: str, data: dict[str, Any], key: str | None) -> tuple[bytes, dict[str, str]]:
    headers = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": hook,
        "X-Gitlab-Token": WEBHOOK_SECRET,
        "Idempotency-Key": key or str(uuid.uuid4()),
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
    }
    return json.dumps(data).encode(), headers


@pytest.fixture
def gitops(gitlab: FakeGitLab, registry: Any) -> Iterator[str]:
    image = f"{registry.host}/e2e/gl-app-{uuid.uuid4().hex[:8]}"
    registry.seed(image.split("/", 1)[1], ["1.0.0", "1.1.0"])
    gitlab.add_project(
        PROJECT,
        {
            "flux/images.yaml": FLUX.format(image=image),
            "apps/deploy.yaml": DEPLOY.format(image=image),
            "README.md": "gitops\n",
        },
    )
    yield image


def settings_for(fake: FakeGitLab, registry: Any) -> Settings:
    return Settings(
        gitlab_url=fake.url,
        gitlab_token=fake.token,
        gitlab_webhook_secret=WEBHOOK_SECRET,
        # no bot_login: a GitLab-only server learns the token's username (GET /user)
        insecure_registries=(registry.host,),
    )


def open_mrs(fake: FakeGitLab) -> list[dict[str, Any]]:
    return [mr for mr in fake.mrs(PROJECT) if mr["state"] == "opened"]


def writes(fake: FakeGitLab) -> int:
    return len([c for c in fake.received if c.method != "GET"])


async def test_webhook_to_merge_request_lifecycle(
    aiohttp_client: Any, gitlab: FakeGitLab, gitops: str, registry: Any
) -> None:
    from bot.adapters.registry import RegistryClient
    from bot.adapters.registry.cache import MemoryTagCache

    image = gitops
    settings = settings_for(gitlab, registry)
    tags = RegistryClient(insecure=settings.insecure_registries, cache=MemoryTagCache(ttl=0.0))
    async with tags:
        client = await aiohttp_client(build_app(settings, registry=tags, schedule=False))
        queue = client.app[RUNTIME].queue

        async def deliver(body: bytes, headers: dict[str, str]) -> int:
            resp = await client.post("/webhooks/gitlab", data=body, headers=headers)
            await asyncio.wait_for(queue.wait_idle(), 60)
            return int(resp.status)

        # a push → one MR carrying exactly the edit, made as one commit on main
        body, headers = push_delivery("delivery-1")
        assert await deliver(body, headers) == 202
        [mr] = open_mrs(gitlab)
        branch = mr["source_branch"]
        assert branch.startswith("fluxbot/") and mr["target_branch"] == "main"
        assert mr["force_remove_source_branch"] is True
        assert "1.1.0" in mr["title"]
        marker = PRMarker.parse(mr["description"])
        assert marker is not None and [(u.old, u.new) for u in marker.updates] == [
            ("1.0.0", "1.1.0")
        ]
        expected = DEPLOY.format(image=image).replace(f"{image}:1.0.0", f"{image}:1.1.0")
        assert gitlab.file(PROJECT, branch, "apps/deploy.yaml") == expected  # bytes kept (CRLF)
        head = gitlab.projects[PROJECT].commits[gitlab.projects[PROJECT].branches[branch]]
        assert head.parent_ids == [gitlab.projects[PROJECT].branches["main"]]
        [commit] = gitlab.calls("POST", "/repository/commits$")
        assert [a["file_path"] for a in commit.body["actions"]] == ["apps/deploy.yaml"]

        # fluxbot's own MR events (its description edit, its close) call for no run
        assert client.app[RUNTIME].state.settings.gitlab_bot_login == gitlab.bot
        before = writes(gitlab)
        assert await deliver(*mr_delivery(mr["iid"], branch, "update", gitlab.bot)) == 200
        assert await deliver(*mr_delivery(mr["iid"], branch, "close", gitlab.bot)) == 200
        assert writes(gitlab) == before

        # the same delivery again (GitLab's retry keeps Idempotency-Key) → nothing at all
        before = writes(gitlab)
        assert await deliver(body, headers) == 200
        assert writes(gitlab) == before
        # a new delivery with nothing new → a run that writes nothing
        assert await deliver(*push_delivery()) == 202
        assert writes(gitlab) == before

        # a newer tag → the same MR and branch move to it (one fresh commit on main)
        registry.seed(image.split("/", 1)[1], ["1.2.0"])
        assert await deliver(*push_delivery()) == 202
        mrs = gitlab.mrs(PROJECT)
        assert len(mrs) == 1 and mrs[0]["iid"] == mr["iid"] and "1.2.0" in mrs[0]["title"]
        assert f"{image}:1.2.0" in (gitlab.file(PROJECT, branch, "apps/deploy.yaml") or "")
        assert gitlab.calls("POST", "/repository/commits$")[-1].body["force"] is True
        head = gitlab.projects[PROJECT].commits[gitlab.projects[PROJECT].branches[branch]]
        assert head.parent_ids == [gitlab.projects[PROJECT].branches["main"]]

        # closed without merge → that version (and below) is not proposed again
        gitlab.close_mr(PROJECT, mr["iid"])
        assert await deliver(*closed_delivery(mr["iid"], branch)) == 202
        assert await deliver(*push_delivery()) == 202
        assert open_mrs(gitlab) == []
        # a still newer version is proposed again, in a new MR
        registry.seed(image.split("/", 1)[1], ["1.3.0"])
        assert await deliver(*push_delivery()) == 202
        [again] = open_mrs(gitlab)
        assert again["iid"] != mr["iid"] and "1.3.0" in again["title"]

        # merged in GitLab → the next plan starts from the updated main: nothing to propose
        gitlab.merge_mr(PROJECT, again["iid"])
        assert await deliver(*push_delivery()) == 202
        assert open_mrs(gitlab) == []
        metrics = await (await client.get("/metrics")).text()
    assert 'fluxbot_jobs_total{kind="update",outcome="ok"}' in metrics
    assert 'fluxbot_pull_requests_total{action="opened",forge="gitlab"} 2.0' in metrics
    assert 'result="duplicate"' in metrics


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(
    fake: FakeGitLab, registry: Any, port: int, cache: str | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FLUXBOT_GITLAB_URL": fake.url,
        "FLUXBOT_GITLAB_TOKEN": fake.token,
        "FLUXBOT_GITLAB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FLUXBOT_INSECURE_REGISTRIES": registry.host,
    }
    if cache:
        env["FLUXBOT_CACHE"] = cache
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
    url = f"http://127.0.0.1:{port}/webhooks/gitlab"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as resp,
    ):
        return resp.status


async def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def _quiet(fake: FakeGitLab, period: float = 0.5, timeout: float = 30) -> None:
    """Until the fake has seen no request for ``period`` seconds (the job is done)."""
    deadline = time.monotonic() + timeout
    last, since = len(fake.received), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if len(fake.received) != last:
            last, since = len(fake.received), time.monotonic()
        elif time.monotonic() - since >= period:
            return
    raise AssertionError("the fake never went quiet")


def _fluxbot_branches(fake: FakeGitLab) -> list[str]:
    return sorted(b for b in fake.projects[PROJECT].branches if b.startswith("fluxbot/"))


async def test_killed_mid_job_and_restarted_converges_without_duplicates(
    gitlab: FakeGitLab, gitops: str, registry: Any, tmp_path: Any
) -> None:
    image = gitops
    port = _free_port()
    cache = str(tmp_path / "cache.sqlite")
    gitlab.hang_next("POST", r"/merge_requests$")
    proc = _serve(gitlab, registry, port, cache)
    first = push_delivery("first-delivery")
    try:
        await _wait_ready(port, proc)
        assert await _post(port, *first) == 202
        await _until(lambda: gitlab.hung)  # committed, MR creation in flight
        proc.send_signal(signal.SIGKILL)  # killed in the middle of the job
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    await _until(lambda: gitlab.dropped)
    assert gitlab.mrs(PROJECT) == []
    [branch] = _fluxbot_branches(gitlab)  # half done: a branch without its MR
    first_commit = gitlab.projects[PROJECT].branches[branch]
    proc = _serve(gitlab, registry, port, cache)
    try:
        await _wait_ready(port, proc)
        # GitLab retrying the first delivery after the restart: recognised (FLUXBOT_CACHE)
        assert await _post(port, *first) == 200
        for _ in range(2):  # the next runs converge, and stay converged
            assert await _post(port, *push_delivery()) == 202
            await _until(lambda: len(gitlab.mrs(PROJECT)) >= 1)
            await _quiet(gitlab)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0  # graceful shutdown
    [mr] = gitlab.mrs(PROJECT)
    assert mr["state"] == "opened" and mr["source_branch"] == branch
    assert _fluxbot_branches(gitlab) == [branch]
    assert gitlab.projects[PROJECT].branches[branch] == first_commit  # no recommit
    assert f"{image}:1.1.0" in (gitlab.file(PROJECT, branch, "apps/deploy.yaml") or "")
    assert len(gitlab.calls("POST", "/repository/commits$")) == 1


async def test_scheduled_replan_of_configured_projects(
    aiohttp_client: Any, gitlab: FakeGitLab, gitops: str, registry: Any
) -> None:
    """``FLUXBOT_GITLAB_PROJECTS`` through the server's scheduler: no webhook at all."""
    from dataclasses import replace

    from bot.adapters.gitlab.schedule import gitlab_projects
    from bot.adapters.registry import RegistryClient
    from bot.adapters.registry.cache import MemoryTagCache

    settings = replace(settings_for(gitlab, registry), gitlab_projects=(PROJECT,))
    tags = RegistryClient(insecure=settings.insecure_registries, cache=MemoryTagCache(ttl=0.0))
    async with tags:
        app = build_app(settings, registry=tags, sources=[gitlab_projects(settings)])
        client = await aiohttp_client(app)
        rt = client.app[RUNTIME]
        assert rt.scheduler is not None
        assert await rt.scheduler.run_once() == 1  # one round, without waiting for the timer
        await asyncio.wait_for(rt.queue.wait_idle(), 60)
        [mr] = open_mrs(gitlab)
        assert "1.1.0" in mr["title"]
        registry.seed(gitops.split("/", 1)[1], ["1.2.0"])  # a new tag, no push: next round
        await rt.scheduler.run_once()
        await asyncio.wait_for(rt.queue.wait_idle(), 60)
        [moved] = open_mrs(gitlab)
        assert moved["iid"] == mr["iid"] and "1.2.0" in moved["title"]
