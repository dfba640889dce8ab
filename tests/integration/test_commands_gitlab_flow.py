"""GitLab end to end through ``POST /webhooks/gitlab`` of the real server: a planned MR (tags from
Distribution 2.8), then ``rebase``, ``recreate``, ``diff``, ``ignore this major version`` and
``reconcile`` with their effects on the fake GitLab (award emoji, notes, branches, statuses)."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from bot.core.markers import DIFF_MARKER, ROLLOUT_MARKER, PRMarker
from bot.core.model import IgnoreScope
from tests.integration.test_commands_github import DEPLOY, IMAGES
from tests.support.gitlab_fake import FakeGitLab
from tests.support.kube_fake import Behaviour, KubeFake
from tests.support.paths import GITLAB_WEBHOOKS
from tests.support.reconcile_data import TREE

PROJECT = "platform/cluster"
SECRET = "hook-secret"
Deliver = Callable[[str, dict[str, Any]], Awaitable[int]]


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GITLAB_WEBHOOKS / name).read_text(encoding="utf-8"))
    data["project"].update(path_with_namespace=PROJECT, default_branch="main")
    return data


def push_payload() -> dict[str, Any]:
    payload = example("push.json")
    payload.update(ref="refs/heads/main", user_username="alice", total_commits_count=1)
    payload["commits"] = [{"added": [], "modified": ["apps/deploy.yaml"], "removed": []}]
    return payload


def note_payload(iid: int, branch: str, note_id: int, body: str, author: str) -> dict[str, Any]:
    payload = copy.deepcopy(example("note_merge_request.json"))
    payload["user"]["username"] = author
    payload["object_attributes"].update(id=note_id, note=body, system=False, action="create")
    payload["merge_request"].update(iid=iid, source_branch=branch, target_branch="main")
    return payload


def merged_payload(iid: int, branch: str, sha: str) -> dict[str, Any]:
    payload = example("merge_request.json")
    payload["user"]["username"] = "alice"
    payload["object_attributes"].update(
        iid=iid, action="merge", state="merged", merge_commit_sha=sha,
        source_branch=branch, target_branch="main",
    )  # fmt: skip
    return payload


@pytest.fixture
async def flow(
    gitlab: FakeGitLab,
    registry: Any,
    kube_api: KubeFake,
    aiohttp_client: Any,
    tmp_path: Path,
) -> tuple[FakeGitLab, Deliver, dict[str, Any]]:
    image = f"{registry.host}/glcmd/web-{uuid.uuid4().hex[:8]}"
    registry.seed(image.split("/", 1)[1], ["1.0.0", "1.1.0", "2.0.0"])
    files = {k: v for k, v in TREE.items() if k != "apps/deploy.yaml"}
    files.update(
        {
            "apps/deploy.yaml": DEPLOY.format(image=image),
            "images/web.yaml": IMAGES.format(image=image),
            ".fluxbot.yaml": "reconcile:\n  timeout: 5s\n  interval: 20ms\n",
        }
    )
    gitlab.add_project(PROJECT, files)
    gitlab.set_member(PROJECT, "alice", 30)  # Developer
    gitlab.set_member(PROJECT, "rep", 20)  # Reporter: refused
    settings = Settings(
        gitlab_url=gitlab.url,
        gitlab_token=gitlab.token,
        gitlab_webhook_secret=SECRET,
        bot_login=gitlab.bot,
        insecure_registries=(registry.host,),
        kubeconfig=str(kube_api.kubeconfig(tmp_path / "kubeconfig")),
    )
    client = await aiohttp_client(build_app(settings, schedule=False))
    queue = client.app[RUNTIME].queue

    async def deliver(event: str, payload: dict[str, Any]) -> int:
        headers = {
            "X-Gitlab-Event": event,
            "X-Gitlab-Token": SECRET,
            "Idempotency-Key": str(uuid.uuid4()),
        }
        resp = await client.post("/webhooks/gitlab", json=payload, headers=headers)
        await asyncio.wait_for(queue.wait_idle(), 60)
        return resp.status

    assert await deliver("Push Hook", push_payload()) == 202
    (mr,) = [m for m in gitlab.mrs(PROJECT) if m["state"] == "opened"]
    assert "2.0.0" in mr["title"]
    return gitlab, deliver, mr


async def note(gitlab: FakeGitLab, deliver: Deliver, mr: dict[str, Any], body: str,
               author: str = "alice") -> int:  # fmt: skip
    nid = gitlab.add_note(PROJECT, mr["iid"], body, author)
    assert (
        await deliver("Note Hook", note_payload(mr["iid"], mr["source_branch"], nid, body, author))
        == 202
    )
    return nid


def reply(gitlab: FakeGitLab, iid: int, nid: int) -> str:
    (text,) = [
        n["body"] for n in gitlab.notes(PROJECT, iid) if f"fluxbot:command:{nid}" in n["body"]
    ]
    return text


async def test_rebase_recreate_and_refused(
    flow: tuple[FakeGitLab, Deliver, dict[str, Any]],
) -> None:
    gitlab, deliver, mr = flow
    branch, iid = mr["source_branch"], mr["iid"]
    nid = await note(gitlab, deliver, mr, "/fluxbot rebase", "rep")
    assert "write access" in reply(gitlab, iid, nid) and gitlab.emoji(PROJECT, iid, nid) == []
    gitlab.push(PROJECT, "main", {"apps/extra.yaml": "kind: ConfigMap\n"}, "base moves")
    assert gitlab.file(PROJECT, branch, "apps/extra.yaml") is None
    nid = await note(gitlab, deliver, mr, "/fluxbot rebase")
    assert gitlab.emoji(PROJECT, iid, nid) == ["eyes", "rocket"], reply(gitlab, iid, nid)
    assert gitlab.file(PROJECT, branch, "apps/extra.yaml") is not None
    expected = gitlab.file(PROJECT, branch, "apps/deploy.yaml")
    assert expected is not None and ":2.0.0" in expected
    gitlab.push(PROJECT, branch, {"apps/deploy.yaml": "# hand edit\n"}, "manual")
    nid = await note(gitlab, deliver, mr, "@fluxbot recreate")
    assert gitlab.emoji(PROJECT, iid, nid) == ["eyes", "rocket"], reply(gitlab, iid, nid)
    assert gitlab.file(PROJECT, branch, "apps/deploy.yaml") == expected


async def test_diff_then_ignore_major_honoured(
    flow: tuple[FakeGitLab, Deliver, dict[str, Any]],
) -> None:
    gitlab, deliver, mr = flow
    iid = mr["iid"]
    nid = await note(gitlab, deliver, mr, "/fluxbot diff")
    assert gitlab.emoji(PROJECT, iid, nid) == ["eyes", "rocket"], reply(gitlab, iid, nid)
    previews = [n["body"] for n in gitlab.notes(PROJECT, iid) if DIFF_MARKER in n["body"]]
    assert len(previews) == 1 and "2.0.0" in previews[0]
    nid = await note(gitlab, deliver, mr, "/fluxbot ignore this major version")
    assert gitlab.emoji(PROJECT, iid, nid) == ["eyes", "rocket"], reply(gitlab, iid, nid)
    (closed,) = [m for m in gitlab.mrs(PROJECT) if m["iid"] == iid]
    marker = PRMarker.parse(closed["description"])
    assert closed["state"] == "closed" and marker is not None
    assert [(i.scope, i.version) for i in marker.ignores] == [(IgnoreScope.MAJOR, "2.0.0")]
    await deliver("Push Hook", push_payload())
    assert [m for m in gitlab.mrs(PROJECT) if m["state"] == "opened"] == []


async def test_merge_failure_then_reconcile_command(
    flow: tuple[FakeGitLab, Deliver, dict[str, Any]], kube_api: KubeFake
) -> None:
    gitlab, deliver, mr = flow
    iid = mr["iid"]
    message = "HealthCheckFailed: Deployment/default/web not ready"
    kube_api.add_kustomization("flux-system", "apps", Behaviour("failed", message=message))
    sha = gitlab.merge_mr(PROJECT, iid)
    kube_api.push(sha)
    assert await deliver("Merge Request Hook", merged_payload(iid, mr["source_branch"], sha)) == 202
    states = [s["status"] for s in gitlab.statuses(PROJECT, sha) if s["name"] == "fluxbot/rollout"]
    assert states == ["pending", "failed"]
    (comment,) = [n["body"] for n in gitlab.notes(PROJECT, iid) if ROLLOUT_MARKER in n["body"]]
    assert "❌ failed" in comment and message in comment
    # fixed in the cluster: `/fluxbot reconcile` on the merged MR reports success in the same note
    kube_api.behaviour[("flux-system", "apps")] = Behaviour("ready")
    nid = await note(gitlab, deliver, mr, "/fluxbot reconcile")
    assert gitlab.emoji(PROJECT, iid, nid) == ["eyes", "rocket"], reply(gitlab, iid, nid)
    states = [s["status"] for s in gitlab.statuses(PROJECT, sha) if s["name"] == "fluxbot/rollout"]
    assert states[-1] == "success"
    (comment,) = [n["body"] for n in gitlab.notes(PROJECT, iid) if ROLLOUT_MARKER in n["body"]]
    assert "✅ ready" in comment
