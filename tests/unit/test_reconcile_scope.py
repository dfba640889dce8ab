"""Which branch Flux follows and which Kustomizations a merge reaches (bot.jobs.reconcile)."""

from __future__ import annotations

from bot.app.settings import Settings
from bot.core.events import Event, EventKind
from bot.core.flux.graph import FluxGraph
from bot.jobs.context import Context
from bot.jobs.reconcile import affected, followed_branches, repo_urls, run_reconcile
from tests.support.memory_forge import MemoryForge
from tests.support.reconcile_data import DEPLOY, TREE, fluxbot_config
from tests.support.registries import UnusedRegistry

# A second GitRepository of the same repository (ssh URL, another name) follows `staging`.
STAGING = {
    "clusters/staging/sync.yaml": """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: cluster, namespace: staging}
spec:
  interval: 1m
  ref: {branch: staging}
  url: ssh://git@github.com/Owner/repo.git
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: staging}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: cluster}
""",
}
URLS = ("https://github.com/owner/repo",)
NO_WATCH = "  kubernetes: false\n  statuses: false\n"


def test_followed_branches_and_scope() -> None:
    graph = FluxGraph.from_tree({**TREE, **STAGING}, URLS)
    assert followed_branches(graph) == ("main", "staging")
    ks, src = affected(graph, [DEPLOY], "main")
    assert [str(k) for k in ks] == ["flux-system/apps"] and [str(s) for s in src] == [
        "flux-system/flux-system"
    ]
    ks, src = affected(graph, [DEPLOY], "staging")
    assert [str(k) for k in ks] == ["staging/apps"] and [str(s) for s in src] == ["staging/cluster"]
    # without the repository's URL the ssh GitRepository is not known to be this repository
    assert followed_branches(FluxGraph.from_tree({**TREE, **STAGING})) == ("main",)


def test_repo_urls_per_forge() -> None:
    def ctx(kind: str, **settings: str) -> Context:
        forge = MemoryForge(kind=kind, repo="group/sub/project")
        return Context(forge=forge, registry=UnusedRegistry(), settings=Settings(**settings))  # type: ignore[arg-type]

    assert repo_urls(ctx("github")) == ("https://github.com/group/sub/project",)
    ghes = ctx("github", github_api_url="https://ghe.example.com/api/v3")
    assert repo_urls(ghes) == ("https://ghe.example.com/group/sub/project",)
    gitlab = ctx("gitlab", gitlab_url="https://gitlab.example.com/")
    assert repo_urls(gitlab) == ("https://gitlab.example.com/group/sub/project",)
    assert repo_urls(ctx("local")) == ()


async def merge_into(branch: str) -> tuple[MemoryForge, Event]:
    forge = MemoryForge(
        files={**TREE, **STAGING, **fluxbot_config(NO_WATCH)}, kind="github", repo="owner/repo"
    )
    forge.branches[branch] = forge.branches["main"]
    base = forge.branches[branch]
    await forge.ensure_branch("fix", base, {DEPLOY: TREE[DEPLOY].replace("1.0.0", "1.0.1")}, "x")
    pr, _ = await forge.ensure_pr("fix", branch, "Fix", "no marker")
    sha = forge.merge(pr.number)
    event = Event(
        forge="github", kind=EventKind.PR_MERGED, repo="owner/repo", branch=branch,
        default_branch="main", pr_number=pr.number, merge_sha=sha, changed_paths=(DEPLOY,),
        actor="alice",
    )  # fmt: skip
    return forge, event


async def test_a_merge_into_a_followed_branch_reaches_only_its_kustomizations() -> None:
    for branch, expected in (("main", "flux-system/apps"), ("staging", "staging/apps")):
        forge, event = await merge_into(branch)
        ctx = Context(forge=forge, registry=UnusedRegistry(), settings=Settings())  # type: ignore[arg-type]
        report = await run_reconcile(ctx, event)
        assert report is not None and [str(k) for k in report.kustomizations] == [expected]


async def test_a_branch_no_gitrepository_follows_is_left_alone() -> None:
    forge, event = await merge_into("dev")
    ctx = Context(forge=forge, registry=UnusedRegistry(), settings=Settings())  # type: ignore[arg-type]
    assert await run_reconcile(ctx, event) is None
