"""End to end on GitHub: signed deliveries → the real server → command/reconcile jobs → fake GitHub.

Real components: the aiohttp app of ``fluxbot serve`` (in-process), the fake GitHub (every request
checked against GitHub's OpenAPI), Distribution 2.8 for the update job, the fake Kubernetes API.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app.server import RUNTIME, build_app
from bot.app.settings import Settings
from bot.core.markers import ROLLOUT_MARKER, PRMarker
from bot.core.model import IgnoreScope
from tests.support.github_fixtures import GITHUB_TEST_TOKEN, WEBHOOK_SECRET
from tests.support.kube_fake import Behaviour, KubeFake
from tests.support.reconcile_data import TREE

REPO_NAME = "acme/cluster"
IMAGES = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {{name: web, namespace: flux-system}}
spec:
  image: {image}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {{name: web, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: web}}
  policy:
    semver: {{range: ">=1.0.0"}}
"""
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      containers:
        - name: web
          image: {image}:1.0.0 # {{"$imagepolicy": "flux-system:web"}}
"""
CONFIG = "reconcile:\n  timeout: 5s\n  interval: 20ms\n"
Deliver = Callable[[str, dict[str, Any]], Awaitable[int]]


def _signed(
    event: str, payload: dict[str, Any], delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sig,
    }
    return body, headers


def push_payload(examples: dict[str, Any]) -> dict[str, Any]:
    payload = copy.deepcopy(examples["push"][0])
    payload.update(ref="refs/heads/main", deleted=False)
    payload["repository"].update(full_name=REPO_NAME, default_branch="main")
    payload["commits"] = [{"added": [], "modified": ["apps/deploy.yaml"], "removed": []}]
    payload["sender"]["login"] = "alice"
    payload.pop("installation", None)
    return payload


def comment_payload(
    examples: dict[str, Any],
    number: int,
    body: str,
    user: str,
    comment_id: int,
    user_type: str = "User",
) -> dict[str, Any]:
    """An issue_comment on a PR (the examples have none: one is derived by adding pull_request)."""
    payload = copy.deepcopy(next(p for p in examples["issue_comment"] if p["action"] == "created"))
    payload["repository"].update(full_name=REPO_NAME, default_branch="main")
    payload["issue"].update(number=number, pull_request={"url": f"https://x/pulls/{number}"})
    payload["comment"].update(id=comment_id, body=body)
    payload["comment"]["user"].update(login=user, type=user_type)
    payload["sender"].update(login=user, type=user_type)
    payload.pop("installation", None)
    return payload


def say(
    fake: Any, examples: dict[str, Any], number: int, body: str, user: str, user_type: str = "User"
) -> tuple[dict[str, Any], int]:
    """``user`` comments ``body`` on PR ``number`` in the fake; the delivery payload and its id."""
    cid = fake.add_comment(REPO_NAME, number, body, user)
    return comment_payload(examples, number, body, user, cid, user_type), cid


def merged_payload(examples: dict[str, Any], pr: dict[str, Any], merge_sha: str) -> dict[str, Any]:
    payload = copy.deepcopy(next(p for p in examples["pull_request"] if p["action"] == "closed"))
    payload["repository"].update(full_name=REPO_NAME, default_branch="main")
    payload["number"] = pr["number"]
    payload["pull_request"].update(number=pr["number"], merged=True, merge_commit_sha=merge_sha)
    payload["pull_request"]["head"].update(ref=pr["head"]["ref"], repo={"full_name": REPO_NAME})
    payload["pull_request"]["base"]["ref"] = "main"
    payload["sender"]["login"] = "alice"
    payload.pop("installation", None)
    return payload


@pytest.fixture
async def setup(
    aiohttp_client: Any,
    github_fake: Any,
    registry: Any,
    kube_api: KubeFake,
    webhook_examples: dict[str, Any],
    tmp_path: Path,
) -> tuple[Any, Deliver, dict[str, Any]]:
    image = f"{registry.host}/cmd/web-{uuid.uuid4().hex[:8]}"
    registry.seed(image.split("/", 1)[1], ["1.0.0", "1.1.0", "2.0.0"])
    files = {k: v for k, v in TREE.items() if k != "apps/deploy.yaml"}
    files.update(
        {
            "apps/deploy.yaml": DEPLOY.format(image=image),
            "images/web.yaml": IMAGES.format(image=image),
            ".fluxbot.yaml": CONFIG,
        }
    )
    github_fake.create_repo(REPO_NAME, files)
    github_fake.add_collaborator(REPO_NAME, "alice", "write")
    github_fake.add_collaborator(REPO_NAME, "reader", "read")
    settings = Settings(
        github_api_url=github_fake.url,
        github_token=GITHUB_TEST_TOKEN,
        github_webhook_secret=WEBHOOK_SECRET,
        github_write_interval=0.0,
        insecure_registries=(registry.host,),
        kubeconfig=str(kube_api.kubeconfig(tmp_path / "kubeconfig")),
    )
    client = await aiohttp_client(build_app(settings, schedule=False))
    queue = client.app[RUNTIME].queue

    async def deliver(event: str, payload: dict[str, Any], delivery: str | None = None) -> int:
        body, headers = _signed(event, payload, delivery)
        resp = await client.post("/webhooks/github", data=body, headers=headers)
        await asyncio.wait_for(queue.wait_idle(), 60)
        return resp.status

    assert await deliver("push", push_payload(webhook_examples)) == 202
    (pr,) = [p for p in github_fake.pulls(REPO_NAME) if p["state"] == "open"]
    assert "2.0.0" in pr["title"]
    return github_fake, deliver, pr


def replies(fake: Any, number: int, comment_id: int) -> list[str]:
    return [
        c.body
        for c in fake.comments(REPO_NAME, number)
        if f"fluxbot:command:{comment_id}" in c.body
    ]


async def test_refused_and_bot_comments(
    setup: tuple[Any, Deliver, dict[str, Any]], webhook_examples: dict[str, Any]
) -> None:
    fake, deliver, pr = setup
    number = pr["number"]
    for user in ("reader", "stranger"):
        payload, cid = say(fake, webhook_examples, number, "/fluxbot close", user)
        assert await deliver("issue_comment", payload) == 202
        (reply,) = replies(fake, number, cid)
        assert "write access" in reply and f"@{user}" in reply
        assert fake.reactions(REPO_NAME, cid) == []
    # a bot, and fluxbot itself: not even a reply
    for user in ("dependabot[bot]", "fluxbot[bot]"):
        payload, cid = say(fake, webhook_examples, number, "/fluxbot close", user, "Bot")
        await deliver("issue_comment", payload)
        assert replies(fake, number, cid) == []
    assert [p["state"] for p in fake.pulls(REPO_NAME)] == ["open"]


async def test_ignore_unignore_and_replays(
    setup: tuple[Any, Deliver, dict[str, Any]], webhook_examples: dict[str, Any]
) -> None:
    fake, deliver, pr = setup
    number = pr["number"]
    body = "Thanks!\n\n/fluxbot ignore this major version\n"
    payload, cid = say(fake, webhook_examples, number, body, "alice")
    assert await deliver("issue_comment", payload, "d-601") == 202
    (pull,) = fake.pulls(REPO_NAME)
    assert pull["state"] == "closed"
    marker = PRMarker.parse(pull["body"])
    assert marker is not None and [i.scope for i in marker.ignores] == [IgnoreScope.MAJOR]
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "rocket"]
    assert len(replies(fake, number, cid)) == 1
    # the same delivery again (dedup by delivery id) and a redelivery under a new id
    writes = len([r for r in fake.requests if r[0] != "GET"])
    assert await deliver("issue_comment", payload, "d-601") == 200
    assert await deliver("issue_comment", payload, "d-601-again") == 202
    assert len([r for r in fake.requests if r[0] != "GET"]) == writes
    # the next plan honours the ignore: 2.x is not proposed, 1.1.0 is not (2.0.0 closed → ≤2.0.0)
    await deliver("push", push_payload(webhook_examples))
    assert [p for p in fake.pulls(REPO_NAME) if p["state"] == "open"] == []
    # unignore lifts it: the next plan proposes 2.0.0 again
    undo, cid2 = say(fake, webhook_examples, number, "@fluxbot unignore", "alice")
    await deliver("issue_comment", undo)
    assert fake.reactions(REPO_NAME, cid2) == ["eyes", "rocket"]
    await deliver("push", push_payload(webhook_examples))
    (reopened,) = [p for p in fake.pulls(REPO_NAME) if p["state"] == "open"]
    assert "2.0.0" in reopened["title"] and reopened["number"] != number


async def test_recreate_discards_manual_edits(
    setup: tuple[Any, Deliver, dict[str, Any]], webhook_examples: dict[str, Any]
) -> None:
    fake, deliver, pr = setup
    branch = pr["head"]["ref"]
    expected = fake.files(REPO_NAME, branch)
    fake.push(REPO_NAME, {"apps/deploy.yaml": "# hand edit\n"}, branch=branch, message="manual")
    payload, cid = say(fake, webhook_examples, pr["number"], "/fluxbot recreate", "alice")
    await deliver("issue_comment", payload)
    assert fake.files(REPO_NAME, branch) == expected
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "rocket"]
    assert "recomputed the branch" in replies(fake, pr["number"], cid)[0]


async def test_unknown_command_gets_help(
    setup: tuple[Any, Deliver, dict[str, Any]], webhook_examples: dict[str, Any]
) -> None:
    fake, deliver, pr = setup
    payload, cid = say(fake, webhook_examples, pr["number"], "/fluxbot merge it", "alice")
    await deliver("issue_comment", payload)
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "confused"]
    (reply,) = replies(fake, pr["number"], cid)
    assert "`/fluxbot ignore this image`" in reply and "merge it" in reply


@pytest.mark.parametrize(
    ("behaviour", "state", "cell"),
    [
        (Behaviour("ready", after=2), "success", "✅ ready"),
        (
            Behaviour("failed", message="HealthCheckFailed: Deployment/web not ready"),
            "failure",
            "❌ failed",
        ),
        (Behaviour("stuck"), "error", "⏳ timed out"),
    ],
)
async def test_merge_reconciles_and_reports(
    setup: tuple[Any, Deliver, dict[str, Any]],
    webhook_examples: dict[str, Any],
    kube_api: KubeFake,
    behaviour: Behaviour,
    state: str,
    cell: str,
) -> None:
    fake, deliver, pr = setup
    if behaviour.outcome == "stuck":  # a short timeout, on the branch being merged
        fast = {".fluxbot.yaml": "reconcile:\n  timeout: 300ms\n  interval: 20ms\n"}
        fake.push(REPO_NAME, fast, branch=pr["head"]["ref"], message="fast timeout")
    kube_api.add_kustomization("flux-system", "apps", behaviour)
    sha = fake.merge_pull(REPO_NAME, pr["number"])
    kube_api.push(sha)
    assert await deliver("pull_request", merged_payload(webhook_examples, pr, sha)) == 202
    assert fake.statuses(REPO_NAME, sha)["fluxbot/rollout"] == state
    (comment,) = [
        c.body for c in fake.comments(REPO_NAME, pr["number"]) if ROLLOUT_MARKER in c.body
    ]
    assert f"`flux-system/apps` | {cell}" in comment
    if behaviour.outcome == "failed":
        assert behaviour.message in comment
    if behaviour.outcome == "stuck":
        assert "did not finish in time" in comment
    # `/fluxbot reconcile` on the merged PR runs it again and edits the same comment
    payload, cid = say(fake, webhook_examples, pr["number"], "/fluxbot reconcile", "alice")
    kube_api.behaviour[("flux-system", "apps")] = Behaviour("ready")
    await deliver("issue_comment", payload)
    assert fake.statuses(REPO_NAME, sha)["fluxbot/rollout"] == "success"
    rollout = [c.body for c in fake.comments(REPO_NAME, pr["number"]) if ROLLOUT_MARKER in c.body]
    assert len(rollout) == 1 and "✅ ready" in rollout[0]
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "rocket"]


async def test_diff_renders_the_preview_again(
    setup: tuple[Any, Deliver, dict[str, Any]], webhook_examples: dict[str, Any]
) -> None:
    from bot.core.markers import DIFF_MARKER

    fake, deliver, pr = setup
    number = pr["number"]
    before = [c for c in fake.comments(REPO_NAME, number) if DIFF_MARKER in c.body]
    payload, cid = say(fake, webhook_examples, number, "/fluxbot diff", "alice")
    await deliver("issue_comment", payload)
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "rocket"], replies(fake, number, cid)
    (preview,) = [c.body for c in fake.comments(REPO_NAME, number) if DIFF_MARKER in c.body]
    assert "2.0.0" in preview and before == []


async def test_rebase_recomputes_on_the_moved_base(
    setup: tuple[Any, Deliver, dict[str, Any]],
    webhook_examples: dict[str, Any],
    github_fake: Any,
) -> None:
    fake, deliver, pr = setup
    branch = pr["head"]["ref"]
    github_fake.add_collaborator(REPO_NAME, "root", "admin")
    fake.push(REPO_NAME, {"apps/extra.yaml": "kind: ConfigMap\n"}, message="base moves")
    assert "apps/extra.yaml" not in fake.files(REPO_NAME, branch)
    payload, cid = say(fake, webhook_examples, pr["number"], "/fluxbot rebase", "root")
    await deliver("issue_comment", payload)
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "rocket"], replies(fake, pr["number"], cid)
    files = fake.files(REPO_NAME, branch)
    assert "apps/extra.yaml" in files and ":2.0.0" in files["apps/deploy.yaml"]
    assert "recomputed the branch on `main`" in replies(fake, pr["number"], cid)[0]


@pytest.mark.parametrize(
    ("command", "scope", "version"),
    [
        ("ignore this minor version", IgnoreScope.MINOR, "2.0.0"),
        ("ignore this image", IgnoreScope.IMAGE, ""),
    ],
)
async def test_ignore_minor_and_image_are_honoured_by_the_next_plan(
    setup: tuple[Any, Deliver, dict[str, Any]],
    webhook_examples: dict[str, Any],
    github_fake: Any,
    command: str,
    scope: IgnoreScope,
    version: str,
) -> None:
    fake, deliver, pr = setup
    github_fake.add_collaborator(REPO_NAME, "keeper", "maintain")  # maintain counts as write
    payload, cid = say(fake, webhook_examples, pr["number"], f"/fluxbot {command}", "keeper")
    await deliver("issue_comment", payload)
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "rocket"], replies(fake, pr["number"], cid)
    (pull,) = fake.pulls(REPO_NAME)
    marker = PRMarker.parse(pull["body"])
    assert pull["state"] == "closed" and marker is not None
    assert [(i.scope, i.version) for i in marker.ignores] == [(scope, version)]
    await deliver("push", push_payload(webhook_examples))
    assert [p for p in fake.pulls(REPO_NAME) if p["state"] == "open"] == []


async def test_close_and_triage_refused(
    setup: tuple[Any, Deliver, dict[str, Any]],
    webhook_examples: dict[str, Any],
    github_fake: Any,
) -> None:
    fake, deliver, pr = setup
    github_fake.add_collaborator(REPO_NAME, "triager", "triage")  # permission "read": refused
    payload, cid = say(fake, webhook_examples, pr["number"], "/fluxbot close", "triager")
    await deliver("issue_comment", payload)
    assert fake.pulls(REPO_NAME)[0]["state"] == "open" and fake.reactions(REPO_NAME, cid) == []
    payload, cid = say(fake, webhook_examples, pr["number"], "@fluxbot close", "alice")
    await deliver("issue_comment", payload)
    assert fake.pulls(REPO_NAME)[0]["state"] == "closed"
    assert fake.reactions(REPO_NAME, cid) == ["eyes", "rocket"]
    # closing without a command implies "not this version": the next plan does not reopen it
    await deliver("push", push_payload(webhook_examples))
    assert [p for p in fake.pulls(REPO_NAME) if p["state"] == "open"] == []
