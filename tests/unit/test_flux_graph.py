"""Which Kustomization deploys a file, and what a change affects (GitRepository, artifacts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.flux.graph import FluxGraph, copy_plan, copy_view, glob_matcher
from bot.core.flux.objects import CopyRule
from tests.support.paths import FLUX_EXAMPLE, ONEDR0P


def _tree(base: Path) -> dict[str, str]:
    return {
        str(p.relative_to(base)): p.read_text(encoding="utf-8", errors="replace")
        for p in base.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }


# bmatcuk/doublestar v4's documented behaviour (its README), which source-watcher's copy rules use.
DOUBLESTAR = [
    ("apps/**", "apps/a/b.yaml", True),
    ("apps/*.yaml", "apps/a/b.yaml", False),
    ("**/*.md", "README.md", True),
    ("a/**/b", "a/b", True),  # /**/ is zero or more directories
    ("a/**/b", "a/x/y/b", True),
    ("path/to/**.txt", "path/to/x.txt", True),  # a mid-pattern ** is a plain *
    ("path/to/**.txt", "path/to/x/y.txt", False),
    ("a**b", "axyb", True),
    ("a**b", "a/x/b", False),
    ("{a,b}/c.yaml", "b/c.yaml", True),
    ("{a,b}/c.yaml", "d/c.yaml", False),
    ("[ab].yaml", "a.yaml", True),
    ("[ab].yaml", "c.yaml", False),
    ("[!ab].yaml", "c.yaml", True),
    ("[^ab].yaml", "a.yaml", False),
    ("[a-c].yaml", "b.yaml", True),
    ("x/?.yaml", "x/a.yaml", True),
    ("x/?.yaml", "x//.yaml", False),
    ("*.yaml", ".hidden.yaml", True),  # no special case for dot files
    ("a/\\*", "a/*", True),  # backslash escapes a meta character
    ("a/\\*", "a/x", False),
]


@pytest.mark.parametrize(("pattern", "path", "want"), DOUBLESTAR)
def test_doublestar_glob(pattern: str, path: str, want: bool) -> None:
    assert bool(glob_matcher(pattern).match(path)) is want


def test_glob_and_copy_rules() -> None:
    files = ["apps/base/a.yaml", "apps/base/x/b.yaml", "apps/staging/k.yaml", "apps/base/README.md"]
    view = copy_view(
        [
            CopyRule("m", "apps/base/**", "base/", ("*.md",)),
            CopyRule("m", "apps/staging/**", "st/"),
        ],
        files,
    )
    assert view == {
        "base/a.yaml": "apps/base/a.yaml",
        "base/x/b.yaml": "apps/base/x/b.yaml",
        "st/k.yaml": "apps/staging/k.yaml",
    }
    assert copy_view([CopyRule("m", "apps/base/a.yaml", "one.yaml")], files) == {
        "one.yaml": "apps/base/a.yaml"
    }


def test_onedr0p_owner_and_affected() -> None:
    graph = FluxGraph.from_tree(_tree(ONEDR0P))
    assert graph.owner("kubernetes/apps/default/atuin/app/helmrelease.yaml") == "default/atuin"
    assert graph.owner("kubernetes/apps/default/atuin/ks.yaml") == "flux-system/cluster-apps"
    assert graph.owner("README.md") is None
    assert graph.owner(".github/labels.yaml") is None
    labels = {
        n.label
        for n in graph.affected_nodes(["kubernetes/apps/default/atuin/app/helmrelease.yaml"])
    }
    assert labels == {"default/atuin"}
    # a Kustomization's own definition: itself (spec) and its parent (renders it)
    labels = {n.label for n in graph.affected_nodes(["kubernetes/apps/default/atuin/ks.yaml"])}
    assert labels == {"default/atuin", "flux-system/cluster-apps"}
    # a component shared by many apps affects each of them
    shared = graph.affected_nodes(["kubernetes/components/kopiur/backup/pvc.yaml"])
    assert len(shared) >= 10
    assert graph.affected(["README.md"]) == set()


def test_flux_example_artifact_generator_per_cluster() -> None:
    graph = FluxGraph.from_tree(_tree(FLUX_EXAMPLE))
    assert graph.owner("apps/base/podinfo/release.yaml") == "flux-system/apps"
    assert graph.owner("infrastructure/configs/gateway.yaml") == "flux-system/infra-configs"
    staging = {n.label for n in graph.affected_nodes(["apps/staging/podinfo-values.yaml"])}
    assert staging == {"flux-system/apps (clusters/staging)"}
    both = {n.label for n in graph.affected_nodes(["apps/base/podinfo/release.yaml"])}
    assert both == {"flux-system/apps (clusters/staging)", "flux-system/apps (clusters/production)"}
    node = next(n for n in graph.nodes if n.label == "flux-system/apps (clusters/staging)")
    assert node.repo_path("base/podinfo/release.yaml") == "apps/base/podinfo/release.yaml"
    assert node.repo_path("staging/kustomization.yaml") == "apps/staging/kustomization.yaml"
    assert graph.affected(["README.md", "clusters/staging/flux-system/gotk-sync.yaml"]) == set()
    # the copy rules are an input of every Kustomization built from that artifact
    on_rules = {n.label for n in graph.affected_nodes(["clusters/staging/artifacts.yaml"])}
    assert on_rules == {
        "flux-system/apps (clusters/staging)",
        "flux-system/infra-controllers (clusters/staging)",
        "flux-system/infra-configs (clusters/staging)",
    }


def test_substitute_from_configmap_is_an_input() -> None:
    tree = {
        "clusters/vars.yaml": "apiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: vars, namespace: flux-system}\n"
        "data: {X: '1'}\n",
        "clusters/apps.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\nspec:\n  path: ./apps\n"
        "  sourceRef: {kind: GitRepository, name: flux-system}\n"
        "  postBuild: {substituteFrom: [{kind: ConfigMap, name: vars}]}\n",
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: '${X}'}\n",
        "other/ks.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: ext, namespace: flux-system}\nspec:\n  path: ./\n"
        "  sourceRef: {kind: GitRepository, name: somewhere-else}\n",
    }
    graph = FluxGraph.from_tree(tree)
    assert [n.label for n in graph.nodes] == ["flux-system/apps"]  # foreign source skipped
    assert graph.affected(["clusters/vars.yaml"]) == {graph.nodes[0].key}
    assert graph.owner("apps/cm.yaml") == "flux-system/apps"


def test_repository_recognised_by_url() -> None:
    tree = {
        "flux/repo.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: home-ops, namespace: flux-system}\n"
        "spec: {url: 'https://github.com/me/home-ops'}\n",
        "flux/ks.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\nspec:\n  path: ./apps\n"
        "  sourceRef: {kind: GitRepository, name: home-ops}\n",
        "apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    }
    assert FluxGraph.from_tree(tree).owner("apps/cm.yaml") is None
    for url in ("git@github.com:me/home-ops.git", "https://github.com/me/home-ops/"):
        assert FluxGraph.from_tree(tree, [url]).owner("apps/cm.yaml") == "flux-system/apps"


def test_in_repo_chart_is_an_input_of_its_release() -> None:
    tree = {
        "flux/ks.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\nspec:\n  path: ./apps\n"
        "  sourceRef: {kind: GitRepository, name: flux-system}\n",
        "apps/hr.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
        "metadata: {name: web, namespace: flux-system}\nspec:\n  chart:\n    spec:\n"
        "      chart: ./charts/web\n"
        "      sourceRef: {kind: GitRepository, name: flux-system}\n",
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        "charts/web/templates/cm.yaml": "kind: ConfigMap\n",
        "charts/other/Chart.yaml": "apiVersion: v2\nname: other\nversion: 1.0.0\n",
    }
    graph = FluxGraph.from_tree(tree)
    assert {n.label for n in graph.affected_nodes(["charts/web/templates/cm.yaml"])} == {
        "flux-system/apps"
    }
    assert graph.affected(["charts/other/Chart.yaml"]) == set()
    assert graph.owner("charts/web/Chart.yaml") is None  # an input, not a deployed manifest


def test_copy_strategies_merge_overwrite_and_extract() -> None:
    files = ["app/cm.yaml", "app/k.yaml", "over/cm.yaml", "over/more.yaml", "pkg/chart.tgz"]
    plan = copy_plan(
        [
            CopyRule("m", "app/**", ""),
            CopyRule("m", "over/cm.yaml", "cm.yaml", strategy="Merge"),
            CopyRule("m", "over/more.yaml", "cm.yaml", strategy="Merge"),
            CopyRule("m", "over/cm.yaml", "new.yaml", strategy="Merge"),  # nothing to merge into
            CopyRule("m", "pkg/*.tgz", "charts/", strategy="Extract"),
        ],
        files,
    )
    assert plan.merges == {"cm.yaml": ("app/cm.yaml", "over/cm.yaml", "over/more.yaml")}
    assert plan.view["cm.yaml"] == "over/more.yaml" and plan.view["new.yaml"] == "over/cm.yaml"
    assert "charts/chart.tgz" not in plan.view
    (note,) = plan.notes
    assert "Extract" in note and "pkg/*.tgz" in note
    # a later Overwrite replaces the merged file entirely
    again = copy_plan(
        [
            CopyRule("m", "app/**", ""),
            CopyRule("m", "over/cm.yaml", "cm.yaml", strategy="Merge"),
            CopyRule("m", "over/more.yaml", "cm.yaml"),
        ],
        files,
    )
    assert again.merges == {} and again.view["cm.yaml"] == "over/more.yaml"


MERGE_GEN = """\
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: gen, namespace: flux-system}
spec:
  sources: [{alias: repo, kind: GitRepository, name: flux-system}]
  artifacts:
    - name: app
      copy:
        - {from: "@repo/app/**", to: "@artifact/"}
        - {from: "@repo/over/cm.yaml", to: "@artifact/cm.yaml", strategy: Merge}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  path: ./
  sourceRef: {kind: ExternalArtifact, name: app}
"""


def test_merged_sources_are_inputs_of_the_kustomization() -> None:
    tree = {
        "clusters/gen.yaml": MERGE_GEN,
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n",
        "over/cm.yaml": "data: {b: '2'}\n",
    }
    graph = FluxGraph.from_tree(tree)
    (node,) = graph.nodes
    assert node.merges == {"cm.yaml": ("app/cm.yaml", "over/cm.yaml")}
    assert {n.label for n in graph.affected_nodes(["over/cm.yaml"])} == {"flux-system/app"}


def test_copy_rule_with_alternatives_keeps_the_fixed_prefix() -> None:
    files = ["apps/base/a.yaml", "apps/staging/k.yaml", "apps/prod/p.yaml"]
    view = copy_view([CopyRule("m", "apps/{base,staging}/*.yaml", "out/")], files)
    assert view == {
        "out/base/a.yaml": "apps/base/a.yaml",
        "out/staging/k.yaml": "apps/staging/k.yaml",
    }
