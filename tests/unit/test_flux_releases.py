"""Which HelmReleases a change can affect: conservative (None = all) unless provably narrower."""

from __future__ import annotations

from typing import Any

from bot.core.flux.graph import FluxGraph
from bot.core.flux.releases import touched_releases
from bot.core.manifests.yamlload import load_documents

KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  path: ./app
  targetNamespace: web
  sourceRef: {kind: GitRepository, name: flux-system}
  postBuild:
    substituteFrom: [{kind: ConfigMap, name: vars}]
"""
HR = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: %s}
spec:
  chartRef: {kind: OCIRepository, name: %s-chart}
  valuesFrom: [{kind: ConfigMap, name: %s-values}]
"""
OCI = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: %s-chart}\n"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {a: b}\n"
TREE = {
    "clusters/ks.yaml": KS,
    "clusters/vars.yaml": CM % "vars",
    "app/kustomization.yaml": "resources: [a.yaml, b.yaml, sources.yaml, values.yaml]\n",
    "app/a.yaml": HR % ("a", "a", "a"),
    "app/b.yaml": HR % ("b", "b", "b"),
    "app/sources.yaml": OCI % "a" + "---\n" + OCI % "b",
    "app/values.yaml": CM % "b-values",
}


def _rendered() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in ("app/a.yaml", "app/b.yaml", "app/sources.yaml", "app/values.yaml"):
        for doc in load_documents(TREE[path], path):
            doc["metadata"]["namespace"] = "web"
            docs.append(doc)
    return docs


def _touched(*changed: str) -> frozenset[str] | None:
    graph = FluxGraph.from_tree(TREE)
    (node,) = graph.nodes
    return touched_releases(
        node, _rendered(), TREE, graph.objects, frozenset(changed), load_documents
    )


def test_own_object_chart_source_and_values_from() -> None:
    assert _touched("app/a.yaml") == {"web/a"}
    assert _touched("app/sources.yaml") == {"web/a", "web/b"}  # both sources live there
    assert _touched("app/values.yaml") == {"web/b"}
    assert _touched("README.md") == frozenset()


def test_changes_acting_on_every_object_touch_all() -> None:
    assert _touched("app/kustomization.yaml") is None
    assert _touched("clusters/ks.yaml") is None
    assert _touched("clusters/vars.yaml") is None  # substituteFrom source
    assert _touched("app/a.yaml", "app/kustomization.yaml") is None
