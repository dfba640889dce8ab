"""GitHubForge's history methods (pr_paths, is_ancestor, merge_base, commit_status_details) and
PR assignees on the OpenAPI-checking fake GitHub, and the reconcile job using them end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.adapters.github.forge import open_forge
from bot.app.settings import Settings
from bot.core.errors import ForgeError
from bot.core.events import Event, EventKind
from bot.core.markers import ROLLOUT_MARKER
from bot.jobs.context import Context
from bot.jobs.reconcile import run_reconcile
from bot.ports import StatusState
from tests.integration.test_reconcile_forge_seams import INFRA
from tests.integration.test_reconcile_job import FAST
from tests.support.kube_fake import Behaviour, KubeFake
from tests.support.reconcile_data import TREE, fluxbot_config
from tests.support.registries import UnusedRegistry

REPO = "o/r"
FILES = {**TREE, **INFRA, **fluxbot_config(FAST)}


@pytest.fixture
def repo(github_fake: Any) -> str:
    github_fake.create_repo(REPO, FILES)
    return REPO


async def test_pr_paths_lists_the_pr_against_its_merge_base_with_renames(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    github_fake.push(repo, {"infra/cm.yaml": "x: 1\n"}, branch="tweak")
    github_fake.push(
        repo, {"infra/moved.yaml": FILES["apps/deploy.yaml"]}, "tweak", delete=("apps/deploy.yaml",)
    )
    github_fake.push(repo, {"clusters/prod/later.yaml": "a: 1\n"})  # the base moves on
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        pr, _ = await forge.ensure_pr("tweak", "main", "Tweak", "by hand")
        want = ["apps/deploy.yaml", "infra/cm.yaml", "infra/moved.yaml"]
        assert await forge.pr_paths(pr.number) == want
        github_fake.merge_pull(repo, pr.number)
        assert await forge.pr_paths(pr.number) == want  # the same once merged
    assert any(p.endswith(f"/pulls/{pr.number}/files") for _m, p, _s in github_fake.requests)


async def test_ancestry_and_merge_base_through_compare(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    root = github_fake.branch_sha(repo, "main")
    side = github_fake.push(repo, {"infra/cm.yaml": "x: 1\n"}, branch="side")
    tip = github_fake.push(repo, {"apps/kustomization.yaml": "resources: []\n"})
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        assert await forge.is_ancestor(root, tip) is True
        assert await forge.is_ancestor(tip, tip) is True
        assert await forge.is_ancestor(tip, root) is False
        assert await forge.is_ancestor(side, tip) is False  # diverged
        assert await forge.merge_base(tip, side) == root
        assert await forge.merge_base("main", "side") == root
        with pytest.raises(ForgeError, match="404"):
            await forge.is_ancestor(root, "0" * 40)


async def test_status_details_newest_per_context_and_assignees(
    github_fake: Any, github_settings: Settings, repo: str
) -> None:
    github_fake.add_collaborator(repo, "alice", "write")
    sha = github_fake.branch_sha(repo, "main")
    github_fake.push(repo, {"infra/cm.yaml": "x: 1\n"}, branch="fluxbot/infra")
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        await forge.set_status(sha, "kustomization/apps/1", StatusState.PENDING, "progressing")
        await forge.set_status(sha, "kustomization/apps/1", StatusState.FAILURE, "health failed")
        await forge.set_status(sha, "other", StatusState.SUCCESS, "")
        assert await forge.commit_status_details(sha) == {
            "kustomization/apps/1": (StatusState.FAILURE, "health failed"),
            "other": (StatusState.SUCCESS, ""),
        }
        _pr, created = await forge.ensure_pr(
            "fluxbot/infra", "main", "T", "B", assignees=["alice", "mallory"]
        )
        assert created
        # GitHub skips a login that cannot be assigned; the PR is still made
        (data,) = github_fake.pulls(repo)
        assert [a["login"] for a in data["assignees"]] == ["alice"]
        await forge.ensure_pr("fluxbot/infra", "main", "T", "B", assignees=["alice"])
    assigns = [p for m, p, _s in github_fake.requests if m == "POST" and p.endswith("/assignees")]
    assert len(assigns) == 1  # only when the PR is created


def _event(number: int, sha: str) -> Event:
    return Event(
        forge="github", kind=EventKind.PR_MERGED, repo=REPO, branch="main",
        default_branch="main", pr_number=number, merge_sha=sha, actor="alice",
    )  # fmt: skip


async def test_reconcile_on_the_github_adapter_uses_paths_and_ancestry(
    github_fake: Any, github_settings: Settings, repo: str, kube_api: KubeFake, tmp_path: Path
) -> None:
    for ks in ("apps", "infra", "flux-system"):
        kube_api.add_kustomization("flux-system", ks, Behaviour("ready"))
    github_fake.push(repo, {"infra/cm.yaml": "x: 1\n"}, branch="tweak")
    settings = Settings(
        github_api_url=github_settings.github_api_url,
        github_token=github_settings.github_token,
        kubeconfig=str(kube_api.kubeconfig(tmp_path / "kubeconfig")),
    )
    async with open_forge(repo, settings, write_interval=0) as forge:
        pr, _ = await forge.ensure_pr("tweak", "main", "Tweak infra", "by hand, no marker")
        merge = github_fake.merge_pull(repo, pr.number)
        later = github_fake.push(repo, {"notes/a.yaml": "a: 1\n"})
        github_fake.push(repo, {"notes/b.yaml": "b: 1\n"})
        kube_api.push(later)  # Flux applied a descendant of the merge, not the branch head
        ctx = Context(forge=forge, registry=UnusedRegistry(), settings=settings)
        report = await run_reconcile(ctx, _event(pr.number, merge))
    assert report is not None and report.state is StatusState.SUCCESS, report
    assert [str(k) for k in report.kustomizations] == ["flux-system/infra"]
    assert github_fake.statuses(repo, merge)["fluxbot/rollout"] == "success"
    compares = [p for _m, p, _s in github_fake.requests if "/compare/" in p]
    assert compares == [f"/repos/{REPO}/compare/{merge}...{later}"]


async def test_reconcile_reads_flux_status_descriptions_on_github(
    github_fake: Any, github_settings: Settings, repo: str, tmp_path: Path
) -> None:
    github_fake.push(repo, {"apps/deploy.yaml": FILES["apps/deploy.yaml"] + "# x\n"}, "tweak")
    github_fake.push(repo, {".fluxbot.yaml": "reconcile:\n  kubernetes: false\n" + FAST}, "tweak")
    message = "health check failed after 30s: Deployment/default/web not ready"
    async with open_forge(repo, github_settings, write_interval=0) as forge:
        pr, _ = await forge.ensure_pr("tweak", "main", "Tweak apps", "by hand")
        merge = github_fake.merge_pull(repo, pr.number)
        await forge.set_status(merge, "kustomization/apps/6a1f0c2d", StatusState.FAILURE, message)
        ctx = Context(forge=forge, registry=UnusedRegistry(), settings=github_settings)
        report = await run_reconcile(ctx, _event(pr.number, merge))
    assert report is not None and report.state is StatusState.FAILURE, report
    comments = [c.body for c in github_fake.comments(repo, pr.number) if ROLLOUT_MARKER in c.body]
    assert len(comments) == 1 and message in comments[0]
