"""The forge-neutral jobs on GitLab, driven through ``POST /webhooks/gitlab`` of the real server:
a Merge Request Hook → the flux-diff preview as one sticky MR note (kubectl kustomize); a Note Hook
→ a comment command, allowed for Developer (access level ≥ 30) and refused below, acknowledged
with award emoji. GitLab payloads are the real-shaped examples, patched onto the fake's project."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from typing import Any

import pytest

from bot.app.server import build_app
from bot.app.settings import Settings
from bot.core.markers import DIFF_MARKER
from tests.support.gitlab_fake import FakeGitLab
from tests.support.gitlab_fixtures import WEBHOOK_SECRET
from tests.support.paths import GITLAB_WEBHOOKS, IN_CI

PROJECT = "acme/preview"
SYNC = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://gitlab.example.com/acme/preview
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
"""
KUSTOMIZATION = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deploy.yaml]\n"
)
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
"""


def bump(tag: str) -> str:
    return DEPLOY.replace("1.0.0", tag)


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GITLAB_WEBHOOKS / name).read_text(encoding="utf-8"))
    data["project"].update(path_with_namespace=PROJECT, default_branch="main")
    return data


def mr_hook(iid: int, head: str, action: str, oldrev: str | None = None) -> dict[str, Any]:
    data = _example("merge_request.json")
    attrs = data["object_attributes"]
    attrs.update(action=action, iid=iid, source_branch="fluxbot/web", target_branch="main")
    attrs["last_commit"]["id"] = head
    if oldrev:
        attrs["oldrev"] = oldrev
    return data


def note_hook(iid: int, note_id: int, body: str, author: str) -> dict[str, Any]:
    data = _example("note_merge_request.json")
    data["user"]["username"] = author
    data["object_attributes"].update(id=note_id, note=body)
    data["merge_request"].update(iid=iid, source_branch="fluxbot/web", target_branch="main")
    return data


@pytest.fixture
async def server(aiohttp_client: Any, gitlab: FakeGitLab) -> Any:
    settings = Settings(
        gitlab_url=gitlab.url,
        gitlab_token=gitlab.token,
        gitlab_webhook_secret=WEBHOOK_SECRET,
        bot_login=gitlab.bot,
    )
    client = await aiohttp_client(build_app(settings, registry=object(), schedule=False))
    from bot.app.server import RUNTIME

    queue = client.app[RUNTIME].queue

    async def deliver(hook: str, data: dict[str, Any], key: str | None = None) -> int:
        headers = {
            "X-Gitlab-Event": hook,
            "X-Gitlab-Token": WEBHOOK_SECRET,
            "Idempotency-Key": key or str(uuid.uuid4()),
        }
        resp = await client.post("/webhooks/gitlab", data=json.dumps(data), headers=headers)
        await asyncio.wait_for(queue.wait_idle(), 60)
        return int(resp.status)

    return deliver


def project(gitlab: FakeGitLab) -> tuple[str, int]:
    gitlab.add_project(
        PROJECT,
        {
            "clusters/prod/flux-system/gotk-sync.yaml": SYNC,
            "apps/kustomization.yaml": KUSTOMIZATION,
            "apps/deploy.yaml": DEPLOY,
        },
    )
    gitlab.branch(PROJECT, "fluxbot/web")
    head = gitlab.push(PROJECT, "fluxbot/web", {"apps/deploy.yaml": bump("1.1.0")})
    iid = gitlab.open_mr(PROJECT, "fluxbot/web", title="Update web")
    return head, iid


async def test_preview_note_is_sticky(gitlab: FakeGitLab, server: Any) -> None:
    if shutil.which("kubectl") is None:
        (pytest.fail if IN_CI else pytest.skip)("kubectl is not installed")
    head, iid = project(gitlab)
    assert await server("Merge Request Hook", mr_hook(iid, head, "open")) == 202
    [note] = gitlab.notes(PROJECT, iid)
    assert DIFF_MARKER in note["body"] and "1.1.0" in note["body"] and "web" in note["body"]
    newer = gitlab.push(
        PROJECT, "fluxbot/web", {"apps/deploy.yaml": DEPLOY.replace("1.0.0", "1.2.0")}
    )
    assert await server("Merge Request Hook", mr_hook(iid, newer, "update", oldrev=head)) == 202
    [note] = gitlab.notes(PROJECT, iid)  # the same note, edited
    assert "1.2.0" in note["body"]
    assert len(gitlab.calls("PUT", r"/notes/\d+$")) == 1


async def test_comment_command_needs_developer_access(gitlab: FakeGitLab, server: Any) -> None:
    _head, iid = project(gitlab)
    gitlab.set_member(PROJECT, "rita", 20)  # Reporter
    gitlab.set_member(PROJECT, "dev", 30)  # Developer
    refused = gitlab.add_note(PROJECT, iid, "/fluxbot close", author="rita")
    assert await server("Note Hook", note_hook(iid, refused, "/fluxbot close", "rita")) == 202
    assert gitlab.projects[PROJECT].mrs[iid]["state"] == "opened"
    assert gitlab.emoji(PROJECT, iid, refused) == []
    assert "write access" in gitlab.notes(PROJECT, iid)[-1]["body"]

    accepted = gitlab.add_note(PROJECT, iid, "/fluxbot close", author="dev")
    hook = note_hook(iid, accepted, "/fluxbot close", "dev")
    assert await server("Note Hook", hook, key="note-delivery-1") == 202
    assert gitlab.projects[PROJECT].mrs[iid]["state"] == "closed"
    assert gitlab.emoji(PROJECT, iid, accepted) == ["eyes", "rocket"]
    notes = len(gitlab.notes(PROJECT, iid))
    # GitLab's retry of that delivery, and a second delivery of the same note: nothing more
    assert await server("Note Hook", hook, key="note-delivery-1") == 200
    assert await server("Note Hook", hook, key="note-delivery-2") == 202
    assert len(gitlab.notes(PROJECT, iid)) == notes
    assert gitlab.emoji(PROJECT, iid, accepted) == ["eyes", "rocket"]
