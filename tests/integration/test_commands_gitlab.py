"""End to end on GitLab: note/MR payloads (from GitLab's own examples) → normalise → dispatch →
runner → command/reconcile jobs → the real GitLab forge (python-gitlab) → the fake GitLab.

Real components: python-gitlab against the fake GitLab on loopback (every request checked against
GitLab's documented parameters), the fake Kubernetes API for the reconcile.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.gitlab.forge import GitLabForge, open_forge
from bot.app.settings import Settings
from bot.app.webhooks import MemoryDeliveryStore
from bot.core.dispatch import jobs_for
from bot.core.events import Event, EventKind
from bot.core.events.gitlab import normalise
from bot.core.markers import ROLLOUT_MARKER, PRMarker
from bot.core.model import Ignore, IgnoreScope, Update
from bot.jobs.context import Context
from bot.jobs.runner import run_job
from tests.support.gitlab_fake import FakeGitLab
from tests.support.kube_fake import Behaviour, KubeFake
from tests.support.paths import GITLAB_WEBHOOKS
from tests.support.reconcile_data import DEPLOY, TREE
from tests.support.registries import EmptyRegistry

PROJECT = "platform/cluster"
CONFIG = "reconcile:\n  timeout: 5s\n  interval: 20ms\n"
UPDATE = Update(path=DEPLOY, line=10, image="ghcr.io/o/web", old="1.0.0", new="1.4.2")
Run = Callable[[Event], Awaitable[list[str]]]


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GITLAB_WEBHOOKS / name).read_text(encoding="utf-8"))
    data["project"].update(path_with_namespace=PROJECT, default_branch="main")
    return data


def note_event(iid: int, note_id: int, body: str, author: str, system: bool = False) -> Event:
    payload = copy.deepcopy(example("note_merge_request.json"))
    payload["user"]["username"] = author
    payload["object_attributes"].update(id=note_id, note=body, system=system, action="create")
    payload["merge_request"].update(iid=iid, source_branch="fluxbot/web", target_branch="main")
    return normalise("Note Hook", payload, delivery_id=f"note-{note_id}")


def merged_event(iid: int, sha: str) -> Event:
    payload = copy.deepcopy(example("merge_request.json"))
    payload["user"]["username"] = "alice"
    payload["object_attributes"].update(
        iid=iid, action="merge", state="merged", merge_commit_sha=sha,
        source_branch="fluxbot/web", target_branch="main",
    )  # fmt: skip
    event = normalise("Merge Request Hook", payload, delivery_id=f"merge-{iid}")
    assert event.kind is EventKind.PR_MERGED
    return event


@pytest.fixture
async def env(
    gitlab: FakeGitLab, kube_api: KubeFake, tmp_path: Path
) -> AsyncIterator[tuple[FakeGitLab, GitLabForge, Run, int]]:
    new = TREE[DEPLOY].replace("1.0.0", "1.4.2")
    gitlab.add_project(PROJECT, {**TREE, ".fluxbot.yaml": CONFIG})
    gitlab.set_member(PROJECT, "alice", 30)
    gitlab.set_member(PROJECT, "guest", 10)
    settings = Settings(
        gitlab_url=gitlab.url,
        gitlab_token=gitlab.token,
        bot_login=gitlab.bot,
        kubeconfig=str(kube_api.kubeconfig(tmp_path / "kubeconfig")),
    )
    async with open_forge(PROJECT, settings) as forge:
        base = await forge.branch_sha("main")
        assert base is not None
        await forge.ensure_branch("fluxbot/web", base, {DEPLOY: new}, "Update web to 1.4.2")
        body = "Update web\n\n" + PRMarker("web", (UPDATE,)).render()
        pr, _ = await forge.ensure_pr("fluxbot/web", "main", "Update web to 1.4.2", body)
        ctx = Context(forge=forge, registry=EmptyRegistry(), settings=settings)
        ctx.extra["deliveries"] = MemoryDeliveryStore()

        async def run(event: Event) -> list[str]:
            return [await run_job(job, ctx) for job in jobs_for(event, settings.bot_login)]

        yield gitlab, forge, run, pr.number


def mr(gitlab: FakeGitLab, iid: int) -> dict[str, Any]:
    return next(m for m in gitlab.mrs(PROJECT) if m["iid"] == iid)


def replies(gitlab: FakeGitLab, iid: int, note_id: int) -> list[str]:
    marker = f"fluxbot:command:{note_id}"
    return [n["body"] for n in gitlab.notes(PROJECT, iid) if marker in n["body"]]


async def test_refused_and_bot_notes(env: tuple[FakeGitLab, GitLabForge, Run, int]) -> None:
    gitlab, _forge, run, iid = env
    guest_note = gitlab.add_note(PROJECT, iid, "/fluxbot close", "guest")
    assert await run(note_event(iid, guest_note, "/fluxbot close", "guest")) == ["ok"]
    (reply,) = replies(gitlab, iid, guest_note)
    assert "write access" in reply and "@guest" in reply
    assert gitlab.emoji(PROJECT, iid, guest_note) == []
    # fluxbot's own note and a system note call for no job at all
    own = gitlab.add_note(PROJECT, iid, "/fluxbot close", gitlab.bot)
    assert await run(note_event(iid, own, "/fluxbot close", gitlab.bot)) == []
    sys_note = gitlab.add_note(PROJECT, iid, "/fluxbot close", "alice", system=True)
    assert await run(note_event(iid, sys_note, "/fluxbot close", "alice", system=True)) == []
    assert mr(gitlab, iid)["state"] == "opened"


async def test_ignore_unignore_and_replay(env: tuple[FakeGitLab, GitLabForge, Run, int]) -> None:
    gitlab, forge, run, iid = env
    body = "> /fluxbot close\n\n@fluxbot ignore this minor version"
    note = gitlab.add_note(PROJECT, iid, body, "alice")
    event = note_event(iid, note, body, "alice")
    assert await run(event) == ["ok"]
    assert mr(gitlab, iid)["state"] == "closed"
    marker = PRMarker.parse(mr(gitlab, iid)["description"])
    assert marker is not None
    assert marker.ignores == (Ignore("ghcr.io/o/web", IgnoreScope.MINOR, "1.4.2"),)
    assert gitlab.emoji(PROJECT, iid, note) == ["eyes", "rocket"]
    assert len(replies(gitlab, iid, note)) == 1
    # a replay of the same note does nothing
    calls = len(gitlab.received)
    assert await run(event) == ["ok"]
    assert len([c for c in gitlab.received[calls:] if c.method != "GET"]) == 0
    # unignore, then the update job's reading of the forge no longer ignores anything
    undo = gitlab.add_note(PROJECT, iid, "/fluxbot unignore", "alice")
    await run(note_event(iid, undo, "/fluxbot unignore", "alice"))
    from bot.jobs.update import ignores_from

    assert ignores_from(await forge.list_prs()) == ()
    assert gitlab.emoji(PROJECT, iid, undo) == ["eyes", "rocket"]


async def test_close_and_help(env: tuple[FakeGitLab, GitLabForge, Run, int]) -> None:
    gitlab, _forge, run, iid = env
    note = gitlab.add_note(PROJECT, iid, "/fluxbot what", "alice")
    await run(note_event(iid, note, "/fluxbot what", "alice"))
    assert gitlab.emoji(PROJECT, iid, note) == ["eyes", "confused"]
    assert "`/fluxbot rebase`" in replies(gitlab, iid, note)[0]
    close = gitlab.add_note(PROJECT, iid, "/fluxbot close", "alice")
    await run(note_event(iid, close, "/fluxbot close", "alice"))
    assert mr(gitlab, iid)["state"] == "closed"
    assert gitlab.emoji(PROJECT, iid, close) == ["eyes", "rocket"]


@pytest.mark.parametrize(
    ("behaviour", "state"),
    [(Behaviour("ready", after=2), "success"), (Behaviour("stuck"), "failed")],
)
async def test_merge_reconciles_and_reports(
    env: tuple[FakeGitLab, GitLabForge, Run, int],
    kube_api: KubeFake,
    behaviour: Behaviour,
    state: str,
) -> None:
    gitlab, _forge, run, iid = env
    if behaviour.outcome == "stuck":  # a short timeout, on the branch being merged
        fast = {".fluxbot.yaml": "reconcile:\n  timeout: 300ms\n  interval: 20ms\n"}
        gitlab.push(PROJECT, "fluxbot/web", fast)
    kube_api.add_kustomization("flux-system", "apps", behaviour)
    sha = gitlab.merge_mr(PROJECT, iid)
    kube_api.push(sha)
    outcomes = await run(merged_event(iid, sha))
    assert outcomes[0] == "ok"  # RECONCILE (the UPDATE job after it needs a registry)
    rollout = [s["status"] for s in gitlab.statuses(PROJECT, sha) if s["name"] == "fluxbot/rollout"]
    assert rollout == ["pending", state]  # GitLab has no "error" state: timed out maps to failed
    (note,) = [n["body"] for n in gitlab.notes(PROJECT, iid) if ROLLOUT_MARKER in n["body"]]
    assert ("✅ ready" if state == "success" else "⏳ timed out") in note


async def test_through_the_server(
    env: tuple[FakeGitLab, GitLabForge, Run, int], aiohttp_client: Any, tmp_path: Path
) -> None:
    """Note Hook deliveries to ``POST /webhooks/gitlab`` of the real server: token, dedupe, job."""
    from bot.app.server import RUNTIME, build_app

    gitlab, _forge, _run, iid = env
    settings = Settings(
        gitlab_url=gitlab.url,
        gitlab_token=gitlab.token,
        gitlab_webhook_secret="hook-secret",
        bot_login=gitlab.bot,
    )
    client = await aiohttp_client(build_app(settings, schedule=False, registry=EmptyRegistry()))
    queue = client.app[RUNTIME].queue

    async def deliver(payload: dict[str, Any], key: str, token: str = "hook-secret") -> int:
        headers = {"X-Gitlab-Event": "Note Hook", "X-Gitlab-Token": token, "Idempotency-Key": key}
        resp = await client.post("/webhooks/gitlab", json=payload, headers=headers)
        await queue.wait_idle()
        return resp.status

    def note_payload(note_id: int, body: str, author: str) -> dict[str, Any]:
        payload = copy.deepcopy(example("note_merge_request.json"))
        payload["user"]["username"] = author
        payload["object_attributes"].update(id=note_id, note=body, system=False, action="create")
        payload["merge_request"].update(iid=iid, source_branch="fluxbot/web", target_branch="main")
        return payload

    guest = gitlab.add_note(PROJECT, iid, "/fluxbot close", "guest")
    assert await deliver(note_payload(guest, "/fluxbot close", "guest"), "k1", "wrong") == 401
    assert await deliver(note_payload(guest, "/fluxbot close", "guest"), "k1") == 202
    assert "write access" in replies(gitlab, iid, guest)[0]
    alice = gitlab.add_note(PROJECT, iid, "@fluxbot ignore this image", "alice")
    assert await deliver(note_payload(alice, "@fluxbot ignore this image", "alice"), "k2") == 202
    assert mr(gitlab, iid)["state"] == "closed"
    assert gitlab.emoji(PROJECT, iid, alice) == ["eyes", "rocket"]
    assert await deliver(note_payload(alice, "@fluxbot ignore this image", "alice"), "k2") == 200
    assert len(replies(gitlab, iid, alice)) == 1
