"""GitLabForge's history methods (pr_paths, is_ancestor, merge_base, commit_status_details) on
the fake GitLab (requests checked against GitLab's documented shapes), and the reconcile job
using them end to end."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from bot.adapters.gitlab.forge import GitLabForge
from bot.app.settings import Settings
from bot.core.errors import ForgeError
from bot.core.events import Event, EventKind
from bot.core.markers import ROLLOUT_MARKER
from bot.jobs.context import Context
from bot.jobs.reconcile import run_reconcile
from bot.ports import StatusState
from tests.integration.test_reconcile_forge_seams import INFRA
from tests.integration.test_reconcile_job import FAST
from tests.support.gitlab_fake import FakeGitLab
from tests.support.kube_fake import Behaviour, KubeFake
from tests.support.reconcile_data import TREE, fluxbot_config
from tests.support.registries import UnusedRegistry

Opener = Callable[[str], AbstractAsyncContextManager[GitLabForge]]
REPO = "group/flux"
FILES = {**TREE, **INFRA, **fluxbot_config(FAST)}


@pytest.fixture
def project(gitlab: FakeGitLab) -> str:
    gitlab.add_project(REPO, FILES)
    gitlab.add_user("alice")
    return REPO


def rename(gitlab: FakeGitLab, branch: str, old: str, new: str) -> str:
    p = gitlab.projects[REPO]
    head = p.commits[p.branches[branch]]
    tree = {k: v for k, v in head.tree.items() if k != old} | {new: head.tree[old]}
    commit = gitlab._commit(p, [head.id], tree, "rename")
    p.branches[branch] = commit.id
    return commit.id


async def test_pr_paths_lists_the_mr_diffs_with_renames(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    gitlab.branch(REPO, "tweak")
    gitlab.push(REPO, "tweak", {"infra/cm.yaml": "x: 1\n"})
    rename(gitlab, "tweak", "apps/deploy.yaml", "infra/moved.yaml")
    gitlab.push(REPO, "main", {"clusters/prod/later.yaml": "a: 1\n"})  # the target moves on
    iid = gitlab.open_mr(REPO, "tweak", author="alice")
    want = ["apps/deploy.yaml", "infra/cm.yaml", "infra/moved.yaml"]
    async with gitlab_forge(REPO) as forge:
        assert await forge.pr_paths(iid) == want
        gitlab.merge_mr(REPO, iid)
        assert await forge.pr_paths(iid) == want
    assert gitlab.calls("GET", rf"/merge_requests/{iid}/diffs$")


async def test_ancestry_and_merge_base(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    root = gitlab.projects[REPO].branches["main"]
    gitlab.branch(REPO, "side")
    side = gitlab.push(REPO, "side", {"infra/cm.yaml": "x: 1\n"})
    tip = gitlab.push(REPO, "main", {"apps/kustomization.yaml": "resources: []\n"})
    async with gitlab_forge(REPO) as forge:
        assert await forge.is_ancestor(root, tip) is True
        assert await forge.is_ancestor(root[:12], tip) is True
        assert await forge.is_ancestor(tip, tip) is True
        assert await forge.is_ancestor(tip, root) is False
        assert await forge.is_ancestor(side, tip) is False
        assert await forge.merge_base(tip, side) == root
        assert await forge.merge_base("main", "side") == root
        with pytest.raises(ForgeError, match="Could not find ref"):
            await forge.is_ancestor(root, "0" * 40)
    (call, *_) = gitlab.calls("GET", "/repository/merge_base")
    assert call.query == {"refs[]": [root, tip]}


async def test_status_details_newest_per_name(
    gitlab: FakeGitLab, project: str, gitlab_forge: Opener
) -> None:
    sha = gitlab.projects[REPO].branches["main"]
    async with gitlab_forge(REPO) as forge:
        await forge.set_status(sha, "kustomization/apps/1", StatusState.PENDING, "progressing")
        await forge.set_status(sha, "kustomization/apps/1", StatusState.FAILURE, "health failed")
        await forge.set_status(sha, "other", StatusState.SUCCESS, "")
        assert await forge.commit_status_details(sha) == {
            "kustomization/apps/1": (StatusState.FAILURE, "health failed"),
            "other": (StatusState.SUCCESS, ""),
        }


def _event(number: int, sha: str) -> Event:
    return Event(
        forge="gitlab", kind=EventKind.PR_MERGED, repo=REPO, branch="main",
        default_branch="main", pr_number=number, merge_sha=sha, actor="alice",
    )  # fmt: skip


async def test_reconcile_on_the_gitlab_adapter_uses_paths_and_ancestry(
    gitlab: FakeGitLab,
    gitlab_settings: Settings,
    project: str,
    gitlab_forge: Opener,
    kube_api: KubeFake,
    tmp_path: Path,
) -> None:
    for ks in ("apps", "infra", "flux-system"):
        kube_api.add_kustomization("flux-system", ks, Behaviour("ready"))
    gitlab.branch(REPO, "tweak")
    gitlab.push(REPO, "tweak", {"infra/cm.yaml": "x: 1\n"})
    iid = gitlab.open_mr(REPO, "tweak", author="alice", description="by hand, no marker")
    merge = gitlab.merge_mr(REPO, iid)
    later = gitlab.push(REPO, "main", {"notes/a.yaml": "a: 1\n"})
    gitlab.push(REPO, "main", {"notes/b.yaml": "b: 1\n"})
    kube_api.push(later)  # Flux applied a descendant of the merge, not the branch head
    settings = Settings(
        gitlab_url=gitlab_settings.gitlab_url,
        gitlab_token=gitlab_settings.gitlab_token,
        kubeconfig=str(kube_api.kubeconfig(tmp_path / "kubeconfig")),
    )
    async with gitlab_forge(REPO) as forge:
        ctx = Context(forge=forge, registry=UnusedRegistry(), settings=settings)
        report = await run_reconcile(ctx, _event(iid, merge))
    assert report is not None and report.state is StatusState.SUCCESS, report
    assert [str(k) for k in report.kustomizations] == ["flux-system/infra"]
    assert gitlab.statuses(REPO, merge)[-1]["status"] == "success"
    assert gitlab.calls("GET", "/repository/merge_base")


async def test_reconcile_reads_flux_status_descriptions_on_gitlab(
    gitlab: FakeGitLab, gitlab_settings: Settings, project: str, gitlab_forge: Opener
) -> None:
    gitlab.branch(REPO, "tweak")
    gitlab.push(
        REPO,
        "tweak",
        {
            "apps/deploy.yaml": FILES["apps/deploy.yaml"] + "# x\n",
            ".fluxbot.yaml": "reconcile:\n  kubernetes: false\n" + FAST,
        },
    )
    iid = gitlab.open_mr(REPO, "tweak", author="alice")
    merge = gitlab.merge_mr(REPO, iid)
    message = "health check failed after 30s: Deployment/default/web not ready"
    async with gitlab_forge(REPO) as forge:
        await forge.set_status(merge, "kustomization/apps/6a1f0c2d", StatusState.FAILURE, message)
        ctx = Context(forge=forge, registry=UnusedRegistry(), settings=gitlab_settings)
        report = await run_reconcile(ctx, _event(iid, merge))
    assert report is not None and report.state is StatusState.FAILURE, report
    notes = [n["body"] for n in gitlab.notes(REPO, iid) if ROLLOUT_MARKER in n["body"]]
    assert len(notes) == 1 and message in notes[0]
