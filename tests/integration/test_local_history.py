"""LocalForge's history methods on a real git repository: ``git merge-base`` (and
``--is-ancestor``), ``git diff --name-only`` for a PR's paths, commit statuses with descriptions in
the local JSON, and assignees recorded in the PR file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.adapters.local.forge import LocalForge
from bot.core.errors import ForgeError
from bot.ports import ForgeHistory, StatusState
from tests.integration.test_run_local_forge import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "app.yaml").write_text("image: nginx:1.0\n")
    (root / "old.yaml").write_text("a: 1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    return root


async def test_ancestry_merge_base_and_pr_paths(repo: Path) -> None:
    root = git(repo, "rev-parse", "HEAD")
    async with LocalForge.open(repo) as forge:
        history: ForgeHistory = forge
        head = await forge.ensure_branch("fluxbot/nginx", root, {"app.yaml": "x: 2\n"}, "u")
        git(repo, "mv", "old.yaml", "new.yaml")
        git(repo, "commit", "-q", "-m", "rename on main")  # the base moves on
        tip = git(repo, "rev-parse", "HEAD")
        assert await history.is_ancestor(root, head) is True
        assert await history.is_ancestor(head, head) is True
        assert await history.is_ancestor(head, tip) is False
        assert await history.merge_base(tip, head) == root
        assert await history.merge_base("main", "fluxbot/nginx") == root
        with pytest.raises(ForgeError):
            await history.is_ancestor(root, "0" * 40)
        pr, _ = await forge.ensure_pr(
            "fluxbot/nginx", "main", "t", "b", assignees=["alice"], reviewers=["bob"]
        )
        assert await history.pr_paths(pr.number) == ["app.yaml"]  # not the base's rename
        git(repo, "merge", "-q", "--no-ff", "-m", "merge", "fluxbot/nginx")
        assert (await forge.get_pr(pr.number)).state.value == "merged"
        assert await history.pr_paths(pr.number) == ["app.yaml"]  # the same once merged
        git(repo, "checkout", "-q", "-b", "feature", root)
        git(repo, "mv", "old.yaml", "moved.yaml")
        git(repo, "commit", "-q", "-m", "rename")
        git(repo, "checkout", "-q", "main")
        other, _ = await forge.ensure_pr("feature", "main", "by hand", "")
        assert await history.pr_paths(other.number) == ["moved.yaml", "old.yaml"]
    data = json.loads((repo / ".git" / "fluxbot" / "prs" / f"{pr.number}.json").read_text())
    assert data["assignees"] == ["alice"] and data["reviewers"] == ["bob"]


async def test_status_details_keep_the_description(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    async with LocalForge.open(repo) as forge:
        await forge.set_status(sha, "kustomization/apps/1", StatusState.PENDING, "progressing")
        await forge.set_status(sha, "kustomization/apps/1", StatusState.FAILURE, "health failed")
        await forge.set_status(sha, "other", StatusState.SUCCESS, "")
        assert await forge.commit_status_details(sha) == {
            "kustomization/apps/1": (StatusState.FAILURE, "health failed"),
            "other": (StatusState.SUCCESS, ""),
        }
        assert await forge.commit_statuses(sha) == {
            "kustomization/apps/1": StatusState.FAILURE,
            "other": StatusState.SUCCESS,
        }


async def test_the_memory_forge_with_history_drives_reconcile(tmp_path: Path) -> None:
    """HistoryMemoryForge (tests/support) answers as the real forges do: a status description
    reaches the rollout comment, and a human PR is scoped by its paths."""
    from bot.jobs.reconcile import run_reconcile
    from tests.integration.test_reconcile_forge_seams import human_merge
    from tests.integration.test_reconcile_job import FAST, context, merged_event, merged_pr
    from tests.support.memory_forge import HistoryMemoryForge

    forge, number, sha = await merged_pr("  kubernetes: false\n" + FAST, HistoryMemoryForge)
    await forge.set_status(sha, "kustomization/apps/1", StatusState.FAILURE, "health failed")
    report = await run_reconcile(context(forge, None, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.FAILURE
    assert any("health failed" in text for _c, text in forge.comments[number])
    assert await forge.is_ancestor(forge.commits[sha].parent or "", sha)
    human, pr, _merge = await human_merge(HistoryMemoryForge)
    assert await human.pr_paths(pr) == ["infra/cm.yaml"]
    assert isinstance(human, HistoryMemoryForge) and forge.assignees[number] == ()
