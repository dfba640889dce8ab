"""Which branches and Flux Kustomizations a merge reaches: the reconcile job's scope.

The merged tree's Flux graph (:mod:`bot.core.flux.graph`) knows the GitRepositories that fetch this
repository (by URL, https or ssh, or the bootstrap name ``flux-system/flux-system``), the branch
each follows (``spec.ref.branch``), and the Kustomizations whose build reads a changed path.

    graph = FluxGraph.from_tree(tree, repo_urls(ctx))
    if branch in (cfg.branches or followed_branches(graph) or (default_branch,)):
        kustomizations, sources = affected(graph, changed_paths, branch)
"""

from __future__ import annotations

from collections.abc import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.adapters.kube import ReconcileConfig
from bot.core.dispatch import CONFIG_FILES
from bot.core.errors import ConfigError
from bot.core.flux.base import SourceRef
from bot.core.flux.graph import FluxGraph
from bot.core.flux.sources import GitRepository
from bot.core.rollout import KsRef
from bot.jobs.context import Context


def load_config(tree: dict[str, str]) -> ReconcileConfig:
    """The ``reconcile:`` section of the repository's ``.fluxbot.yaml`` (defaults without one)."""
    for name in CONFIG_FILES:
        if name in tree:
            try:
                data = YAML(typ="safe", pure=True).load(tree[name])
            except YAMLError as exc:
                raise ConfigError(f"{name}: not valid YAML: {exc}") from None
            if isinstance(data, dict):
                return ReconcileConfig.parse(data.get("reconcile"))
    return ReconcileConfig()


def repo_urls(ctx: Context) -> tuple[str, ...]:
    """This repository's clone URL as a GitRepository would name it (ssh forms normalise to it)."""
    forge, settings = ctx.forge, ctx.settings
    if forge.kind == "github":
        api = settings.github_api_url.rstrip("/")
        web = (
            "https://github.com" if api == "https://api.github.com" else api.removesuffix("/api/v3")
        )
        return (f"{web}/{forge.repo}",)
    if forge.kind == "gitlab":
        return (f"{settings.gitlab_url.rstrip('/')}/{forge.repo}",)
    return ()


def _branch(repo: GitRepository | None) -> str:
    branch = repo.ref.get("branch") if repo is not None else None
    return branch if isinstance(branch, str) else ""


def _self_repos(graph: FluxGraph) -> dict[KsRef, GitRepository]:
    """The GitRepositories of the tree that fetch this repository."""
    return {
        KsRef(g.namespace or "flux-system", g.name): g
        for g in graph.objects.of(GitRepository)
        if SourceRef("GitRepository", g.name, g.namespace or "flux-system") in graph.self_sources
    }


def followed_branches(graph: FluxGraph) -> tuple[str, ...]:
    """Branches of this repository a GitRepository in the tree follows (``spec.ref.branch``)."""
    return tuple(sorted({b for g in _self_repos(graph).values() if (b := _branch(g))}))


def affected(
    tree: dict[str, str] | FluxGraph, paths: Sequence[str], branch: str = ""
) -> tuple[list[KsRef], list[KsRef]]:
    """(Kustomizations, their GitRepositories) a change of ``paths`` on ``branch`` affects.

    Without paths, every Kustomization. A Kustomization whose GitRepository follows another
    branch than ``branch`` does not see the change and is left out.
    """
    graph = tree if isinstance(tree, FluxGraph) else FluxGraph.from_tree(tree)
    repos = _self_repos(graph)
    nodes = graph.affected_nodes(paths) if paths else list(graph.nodes)
    ks: dict[KsRef, None] = {}
    sources: dict[KsRef, None] = {}
    for node in nodes:
        if node.ks.suspend:
            continue
        ref = node.ks.source_ref
        src = KsRef(ref.namespace, ref.name)
        if ref.kind == "GitRepository":
            follows = _branch(repos.get(src))
            if branch and follows and follows != branch:
                continue
            sources[src] = None
        ks[KsRef(node.key.namespace or "flux-system", node.key.name)] = None
    return sorted(ks), sorted(sources)
