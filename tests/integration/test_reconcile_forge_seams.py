"""The reconcile job's optional forge methods (``is_ancestor``, ``commit_status_details``,
``pr_paths``): used when a forge has them, and what happens without them."""

from __future__ import annotations

from pathlib import Path

from bot.core.errors import ForgeError
from bot.core.events import Event, EventKind
from bot.jobs.reconcile import run_reconcile
from bot.ports import StatusState
from tests.integration.test_reconcile_job import (
    FAST,
    context,
    merged_event,
    merged_pr,
    rollout_comments,
)
from tests.support.kube_fake import Behaviour, KubeFake
from tests.support.memory_forge import MemoryForge
from tests.support.reconcile_data import TREE, fluxbot_config


class AncestryForge(MemoryForge):
    """A MemoryForge that answers ``is_ancestor`` from its commit graph (as a git forge would)."""

    @property
    def asked(self) -> list[tuple[str, str]]:
        return self.__dict__.setdefault("_asked", [])

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        self.asked.append((ancestor, descendant))
        sha: str | None = descendant
        if descendant not in self.commits:
            raise ForgeError(f"no commit {descendant[:12]}")
        while sha is not None:
            if sha == ancestor:
                return True
            sha = self.commits[sha].parent
        return False


def moved_past(forge: MemoryForge) -> tuple[str, str]:
    """Two more commits on the base after the merge: (the first, the new head)."""
    first = forge.push_base({"notes/a.yaml": "a: 1\n"}, "later 1")
    head = forge.push_base({"notes/b.yaml": "b: 1\n"}, "later 2")
    return first, head


async def test_a_descendant_applied_by_flux_is_success_when_the_forge_knows_ancestry(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready"))
    plain, number, sha = await merged_pr(forge_cls=AncestryForge)
    first, _head = moved_past(plain)
    kube_api.push(first)  # Flux applies a descendant of the merge that is not the branch head
    report = await run_reconcile(context(plain, kube_api, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.SUCCESS, report
    assert (sha, first) in plain.asked
    assert plain.statuses[sha]["fluxbot/rollout"] is StatusState.SUCCESS


async def test_without_ancestry_such_a_descendant_times_out(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready"))
    forge, number, sha = await merged_pr()
    first, _head = moved_past(forge)
    kube_api.push(first)
    report = await run_reconcile(context(forge, kube_api, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.ERROR


async def test_an_unrelated_revision_is_not_a_descendant(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    kube_api.add_kustomization("flux-system", "apps", Behaviour("ready"))
    plain, number, sha = await merged_pr(forge_cls=AncestryForge)
    kube_api.push("0" * 40)  # a commit the forge does not know (force-pushed away)
    report = await run_reconcile(context(plain, kube_api, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.ERROR
    assert plain.asked == [(sha, "0" * 40)]  # asked once, not on every poll


class DetailedStatusForge(MemoryForge):
    """A MemoryForge that also returns commit-status descriptions."""

    async def commit_status_details(self, sha: str) -> dict[str, tuple[StatusState, str]]:
        texts = self.__dict__.get("descriptions", {}).get(sha, {})
        return {c: (st, texts.get(c, "")) for c, st in self.statuses.get(sha, {}).items()}


async def test_flux_status_description_reaches_the_comment(tmp_path: Path) -> None:
    detailed, number, sha = await merged_pr("  kubernetes: false\n" + FAST, DetailedStatusForge)
    message = "health check failed after 30s: Deployment/default/web not ready"
    detailed.statuses[sha] = {"kustomization/apps/6a1f0c2d": StatusState.FAILURE}
    detailed.__dict__["descriptions"] = {sha: {"kustomization/apps/6a1f0c2d": message}}
    report = await run_reconcile(context(detailed, None, tmp_path), merged_event(number, sha))
    assert report is not None and report.state is StatusState.FAILURE
    (comment,) = rollout_comments(detailed, number)
    assert message in comment


INFRA = {
    "clusters/prod/infra.yaml": TREE["clusters/prod/apps.yaml"]
    .replace("name: apps", "name: infra")
    .replace("./apps", "./infra"),
    "infra/kustomization.yaml": "resources:\n  - cm.yaml\n",
    "infra/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: '1'\n",
}


class PathsForge(MemoryForge):
    """A MemoryForge that lists a PR's changed files."""

    async def pr_paths(self, number: int) -> list[str]:
        pr = self.prs[number]
        base = self.commits[self.commits[pr.merge_sha or ""].parent or ""].files
        head = self.commits[pr.merge_sha or ""].files
        return sorted(p for p in {*base, *head} if base.get(p) != head.get(p))


def human_merge_event(number: int, sha: str) -> Event:
    """The merge of a human's PR (no fluxbot marker) into the branch Flux follows."""
    return Event(
        forge="memory", kind=EventKind.PR_MERGED, repo="owner/repo", branch="main",
        default_branch="main", pr_number=number, merge_sha=sha, actor="alice",
    )  # fmt: skip


async def human_merge(cls: type[MemoryForge]) -> tuple[MemoryForge, int, str]:
    forge = cls(files={**TREE, **INFRA, **fluxbot_config(FAST)})
    base = forge.branches["main"]
    await forge.ensure_branch("infra-tweak", base, {"infra/cm.yaml": "x: 1\n"}, "tweak")
    pr, _ = await forge.ensure_pr("infra-tweak", "main", "Tweak infra", "by hand, no marker")
    return forge, pr.number, forge.merge(pr.number)


async def test_a_human_pr_reconciles_only_what_it_changed_when_the_forge_lists_paths(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    for ks in ("apps", "infra", "flux-system"):
        kube_api.add_kustomization("flux-system", ks, Behaviour("ready"))
    forge, number, sha = await human_merge(PathsForge)
    kube_api.push(sha)
    event = human_merge_event(number, sha)
    report = await run_reconcile(context(forge, kube_api, tmp_path), event)
    assert report is not None and [str(k) for k in report.kustomizations] == ["flux-system/infra"]
    # without pr_paths (a GitHub merge event carries no paths): every Kustomization
    plain, number2, sha2 = await human_merge(MemoryForge)
    kube_api.push(sha2)
    event2 = human_merge_event(number2, sha2)
    report2 = await run_reconcile(context(plain, kube_api, tmp_path), event2)
    assert report2 is not None and len(report2.kustomizations) == 3


class BrokenPathsForge(MemoryForge):
    """A forge whose changed-files listing fails (GitHub 5xx, a deleted PR...)."""

    async def pr_paths(self, number: int) -> list[str]:
        raise ForgeError("pulls/files answered 502")


async def test_a_failing_paths_listing_reconciles_everything_instead_of_failing(
    kube_api: KubeFake, tmp_path: Path
) -> None:
    for ks in ("apps", "infra", "flux-system"):
        kube_api.add_kustomization("flux-system", ks, Behaviour("ready"))
    forge, number, sha = await human_merge(BrokenPathsForge)
    kube_api.push(sha)
    event = human_merge_event(number, sha)
    report = await run_reconcile(context(forge, kube_api, tmp_path), event)
    assert report is not None and len(report.kustomizations) == 3
