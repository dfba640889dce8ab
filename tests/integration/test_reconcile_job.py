"""Merge → reconcile → rollout reported: the reconcile job with the fake cluster and Receiver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app.settings import Settings
from bot.core.errors import ReconcileError
from bot.core.events import Event, EventKind
from bot.core.markers import ROLLOUT_MARKER, PRMarker
from bot.core.model import Update
from bot.jobs.context import Context
from bot.jobs.reconcile import run_reconcile
from bot.ports import StatusState
from tests.support.flux_receiver_fake import ReceiverFake
from tests.support.kube_fake import REQUESTED_AT, Behaviour, KubeFake
from tests.support.memory_forge import MemoryForge
from tests.support.reconcile_data import DEPLOY, TREE, fluxbot_config
from tests.support.registries import UnusedRegistry

FAST = "  timeout: 400ms\n  interval: 10ms\n"
TOKEN = "receiver-token"


async def merged_pr(
    config: str = FAST, forge_cls: type[MemoryForge] = MemoryForge
) -> tuple[MemoryForge, int, str]:
    forge = forge_cls(files={**TREE, **fluxbot_config(config)})
    base = forge.branches["main"]
    await forge.ensure_branch(
        "fluxbot/web", base, {DEPLOY: TREE[DEPLOY].replace("1.0.0", "1.1.0")}, "update"
    )
    update = Update(path=DEPLOY, line=10, image="ghcr.io/o/web", old="1.0.0", new="1.1.0")
    body = PRMarker("web", (update,)).render()
    pr, _ = await forge.ensure_pr("fluxbot/web", "main", "Update web", body)
    sha = forge.merge(pr.number)
    return forge, pr.number, sha


def merged_event(number: int, sha: str, paths: tuple[str, ...] = ()) -> Event:
    return Event(
        forge="memory",
        kind=EventKind.PR_MERGED,
        repo="owner/repo",
        branch="main",
        default_branch="main",
        pr_number=number,
        merge_sha=sha,
        changed_paths=paths,
        actor="fluxbot[bot]",
    )


def context(
    forge: MemoryForge, kube: KubeFake | None, tmp_path: Path, **settings: object
) -> Context:
    kubeconfig = str(kube.kubeconfig(tmp_path / "kubeconfig")) if kube else None
    return Context(
        forge=forge,
        registry=UnusedRegistry(),
        settings=Settings(kubeconfig=kubeconfig, **settings),  # type: ignore[arg-type]
    )


def rollout_comments(forge: MemoryForge, number: int) -> list[str]:
    return [t for _c, t in forge.comments.get(number, []) if ROLLOUT_MARKER in t]


async def test_success_through_the_kubernetes_api(kube_api: KubeFake, tmp_path: Path) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready", after=3))
    forge, number, sha = await merged_pr()
    kube_api.push(sha)
    report = await run_reconcile(context(forge, kube_api, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.SUCCESS
    # source first, then the affected Kustomization (only `apps`: the PR changed apps/deploy.yaml)
    assert [p for p, _ct in kube_api.patches()] == [
        "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system",
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps",
    ]
    assert {ct for _p, ct in kube_api.patches()} == {"application/merge-patch+json"}
    ks = kube_api.objects[("kustomizations", "flux-system", "apps")]
    assert ks["status"]["lastAppliedRevision"] == f"main@sha1:{sha}"
    assert ks["metadata"]["annotations"][REQUESTED_AT].endswith("Z")
    assert forge.statuses[sha]["fluxbot/rollout"] is StatusState.SUCCESS
    (comment,) = rollout_comments(forge, number)
    assert "Rollout succeeded" in comment and "`flux-system/apps` | ✅ ready" in comment
    # a second run edits the same comment
    await run_reconcile(context(forge, kube_api, tmp_path), merged_event(number, sha))
    assert len(rollout_comments(forge, number)) == 1


async def test_failure_carries_the_controller_message(kube_api: KubeFake, tmp_path: Path) -> None:
    message = "Deployment/default/web dry-run failed: spec.replicas: Invalid value: -1"
    kube_api.add_kustomization("flux-system", "apps", Behaviour("failed", after=2, message=message))
    forge, number, sha = await merged_pr()
    kube_api.push(sha)
    report = await run_reconcile(context(forge, kube_api, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.FAILURE
    assert forge.statuses[sha]["fluxbot/rollout"] is StatusState.FAILURE
    (comment,) = rollout_comments(forge, number)
    assert "Rollout failed" in comment and "❌ failed" in comment and message in comment


async def test_timeout(kube_api: KubeFake, tmp_path: Path) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("stuck"))
    forge, number, sha = await merged_pr()
    kube_api.push(sha)
    report = await run_reconcile(context(forge, kube_api, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.ERROR
    assert forge.statuses[sha]["fluxbot/rollout"] is StatusState.ERROR
    (comment,) = rollout_comments(forge, number)
    assert "did not finish in time" in comment and "⏳ timed out" in comment


async def test_old_revision_ready_is_not_success(kube_api: KubeFake, tmp_path: Path) -> None:
    """The cluster never sees the merge commit (source stuck at the old revision): timeout."""
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready", after=1))
    forge, number, sha = await merged_pr()
    # kube_api.head stays at the old commit
    report = await run_reconcile(context(forge, kube_api, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.ERROR


async def test_receiver_trigger_and_kubernetes_watch(
    kube_api: KubeFake, flux_receiver: ReceiverFake, tmp_path: Path
) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready", after=1))
    url = flux_receiver.add("fluxbot", "flux-system", TOKEN)
    config = f"  receiver:\n    url: {url}\n    type: generic-hmac\n" + FAST
    forge, number, sha = await merged_pr(config)
    kube_api.push(sha)
    ctx = context(forge, kube_api, tmp_path, receiver_secret=TOKEN)
    report = await run_reconcile(ctx, merged_event(number, sha))
    assert report is not None and report.state is StatusState.SUCCESS
    assert flux_receiver.calls == [(url.removeprefix(flux_receiver.url), 200)]
    assert kube_api.patches() == []  # the Receiver did the annotating
    assert "Flux Receiver" in rollout_comments(forge, number)[0]


async def test_receiver_refusal_is_reported(flux_receiver: ReceiverFake, tmp_path: Path) -> None:
    url = flux_receiver.add("fluxbot", "flux-system", TOKEN)
    config = f"  receiver:\n    url: {url}\n  kubernetes: false\n" + FAST
    forge, number, sha = await merged_pr(config)
    ctx = context(forge, None, tmp_path, receiver_secret="wrong")
    with pytest.raises(ReconcileError, match="HTTP 400"):
        await run_reconcile(ctx, merged_event(number, sha))
    assert forge.statuses[sha]["fluxbot/rollout"] is StatusState.ERROR
    assert "Could not ask Flux" in rollout_comments(forge, number)[0]


async def test_without_cluster_access_reads_flux_commit_statuses(tmp_path: Path) -> None:
    forge, number, sha = await merged_pr("  kubernetes: false\n" + FAST)
    forge.statuses[sha] = {"kustomization/apps/6a1f0c2d": StatusState.FAILURE}
    report = await run_reconcile(context(forge, None, tmp_path), merged_event(number, sha))
    assert report is not None and report.watched_by == "Flux's commit statuses"
    assert report.state is StatusState.FAILURE
    assert forge.statuses[sha]["fluxbot/rollout"] is StatusState.FAILURE


async def test_branch_not_followed_and_disabled(tmp_path: Path) -> None:
    forge, number, sha = await merged_pr("  branches: [production]\n" + FAST)
    assert await run_reconcile(context(forge, None, tmp_path), merged_event(number, sha)) is None
    assert "fluxbot/rollout" not in forge.statuses.get(sha, {})
    forge2, number2, sha2 = await merged_pr("  enabled: false\n")
    assert await run_reconcile(context(forge2, None, tmp_path), merged_event(number2, sha2)) is None


async def test_unaffected_change_does_nothing(tmp_path: Path) -> None:
    forge, number, sha = await merged_pr()
    event = merged_event(number, sha, paths=("README.md",))
    assert await run_reconcile(context(forge, None, tmp_path), event) is None


async def test_push_to_default_branch_reports_on_the_merged_pr(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    """Action `mode: reconcile` on `push`: the pushed commit, the PR merged as it, its paths."""
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready"))
    forge, number, sha = await merged_pr()
    kube_api.push(sha)
    push = Event(
        forge="memory",
        kind=EventKind.PUSH,
        repo="owner/repo",
        branch="main",
        default_branch="main",
        after=sha,
        changed_paths=(DEPLOY,),
    )
    report = await run_reconcile(context(forge, kube_api, tmp_path), push)
    assert report is not None and report.pr_number == number
    assert report.state is StatusState.SUCCESS
    assert len(rollout_comments(forge, number)) == 1
    # a push to another branch is not followed
    other = Event(forge="memory", kind=EventKind.PUSH, repo="owner/repo", branch="dev",
                  default_branch="main", after=sha)  # fmt: skip
    assert await run_reconcile(context(forge, kube_api, tmp_path), other) is None


async def test_shutdown_mid_watch_leaves_no_pending_status(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    """A drain that cancels the watch turns the pending `fluxbot/rollout` into an error."""
    kube_api.add_kustomization("flux-system", "apps", Behaviour("stuck"))
    forge, number, sha = await merged_pr("  timeout: 10m\n  interval: 10ms\n")
    kube_api.push(sha)
    task = asyncio.create_task(
        run_reconcile(context(forge, kube_api, tmp_path), merged_event(number, sha))
    )
    for _ in range(500):
        if forge.statuses.get(sha, {}).get("fluxbot/rollout") is StatusState.PENDING:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # in the watch loop
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert forge.statuses[sha]["fluxbot/rollout"] is StatusState.ERROR
