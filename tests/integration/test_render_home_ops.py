"""Flux-exact rendering of a home-ops shaped repository (tests/data/render/home-ops), real kubectl.

The fixture has what real home-ops repositories use: a root ``cluster-apps`` Kustomization whose
patch gives every child ``substituteFrom`` (one ConfigMap in the repository, one optional Secret
that is not), namespace folders with a component and replacements from a shared folder
(``../../components/...``), a child whose ``spec.path`` holds ``${CLUSTER}``, a path without a
kustomization.yaml, a configMapGenerator and a placeholder folder nothing reconciles. Each
scenario is ``head/<name>/`` laid over ``base/``.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.build.helm import HelmSettings
from bot.adapters.build.render import RenderSettings, TreeRenderer
from bot.core.flux.diff import PreviewDiff
from bot.core.flux.graph import FluxGraph
from bot.core.render.preview import diff_comment
from bot.jobs.preview import PreviewOptions, run_preview
from tests.support.diff_fixtures import require_kubectl
from tests.support.paths import REPO

DATA = REPO / "tests" / "data" / "render" / "home-ops"
NO_HELM = RenderSettings(helm=HelmSettings(enabled=False))


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    require_kubectl()


def tree(name: str = "base") -> dict[str, str]:
    """``base/``, or ``base/`` with ``head/<name>/`` laid over it."""
    files = {str(p.relative_to(DATA / "base")): p for p in (DATA / "base").rglob("*")}
    if name != "base":
        over = DATA / "head" / name
        files |= {str(p.relative_to(over)): p for p in over.rglob("*")}
    return {k: p.read_text(encoding="utf-8") for k, p in files.items() if p.is_file()}


def preview(head: str, base: dict[str, str] | None = None) -> PreviewDiff:
    return run_preview(
        tree() if base is None else base, tree(head), None, PreviewOptions(render=NO_HELM)
    )


def summary(result: PreviewDiff) -> dict[str, list[tuple[str, str]]]:
    return {
        k.label: [(str(c.action), str(c.key)) for c in k.changes] for k in result.kustomizations
    }


def changed_lines(diff: str) -> list[str]:
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def ident(obj: Any) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"


def test_every_kustomization_renders_as_flux_would() -> None:
    base = tree()
    graph = FluxGraph.from_tree(base)
    with TreeRenderer(base, graph, NO_HELM) as side:
        assert side.resolve_graph() == []
        results = {n.label: side.render(n) for n in graph.nodes}
    assert {label: r.error for label, r in results.items()} == dict.fromkeys(
        [
            "flux-system/cluster-apps",
            "flux-system/grafana",
            "flux-system/media-dashboards",
            "flux-system/scrob",
        ]
    )
    objects = {label: sorted(map(ident, r.objects)) for label, r in results.items()}
    assert objects == {
        # replacements and the component's patch load from ../../components (inside the repo)
        "flux-system/cluster-apps": [
            "Kustomization/flux-system/grafana",
            "Kustomization/flux-system/media-dashboards",
            "Kustomization/flux-system/scrob",
            "Namespace//media",
            "Namespace//o11y",
        ],
        # targetNamespace comes from the parent's replacement, the path from its ${CLUSTER}
        "flux-system/scrob": [
            "ConfigMap/media/scrob-template",
            "Deployment/media/scrob-worker",
            "HelmRelease/media/scrob",
        ],
        # no kustomization.yaml: every manifest below the path, recursively, README skipped
        "flux-system/media-dashboards": [
            "ConfigMap/media/dashboard-books",
            "ConfigMap/media/dashboard-comics",
            "ConfigMap/media/dashboard-movies",
            "ConfigMap/media/dashboard-music",
            "ConfigMap/media/dashboard-shows",
        ],
        "flux-system/grafana": [
            "ConfigMap/o11y/grafana-dashboards-bk64dt5tm2",
            "Deployment/o11y/grafana",
        ],
    }
    apps = {ident(o): o for o in results["flux-system/cluster-apps"].objects}
    assert apps["Namespace//media"]["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "privileged"
    }
    scrob_ks = apps["Kustomization/flux-system/scrob"]["spec"]
    assert scrob_ks["path"] == "./kubernetes/apps/media/scrob/main"
    assert scrob_ks["targetNamespace"] == "media"
    scrob = {ident(o): o for o in results["flux-system/scrob"].objects}
    container = scrob["Deployment/media/scrob-worker"]["spec"]["template"]["spec"]["containers"][0]
    # substituteFrom the repository's ConfigMap; the optional Secret is absent: defaults apply
    assert container["env"] == [
        {"name": "TZ", "value": "Europe/Paris"},
        {"name": "PUBLIC_URL", "value": "https://scrob.example.org"},
        {"name": "LOG_LEVEL", "value": "info"},
    ]
    assert scrob["ConfigMap/media/scrob-template"]["data"] == {
        "template": "hello ${USER}, from ${APP}"  # substitute: disabled
    }
    # the optional ref missing from the repository is not a problem, only the chart is noted
    assert results["flux-system/scrob"].notes == (
        "HelmRelease media/scrob: chart not rendered (helm templating is not enabled); "
        "showing the HelmRelease object",
    )


def test_parent_is_built_once_for_both_sides_of_a_one_image_pr() -> None:
    result = preview("image")
    assert summary(result) == {
        "flux-system/scrob": [("changed", "HelmRelease/media/scrob")],
    }
    assert result.affected == 1
    (entry,) = result.kustomizations
    assert entry.images == (("ghcr.io/example/scrob:1.4.0", "ghcr.io/example/scrob:1.5.0"),)
    assert changed_lines(entry.changes[0].diff) == [
        "-              tag: 1.4.0",
        "+              tag: 1.5.0",
    ]


def test_optional_secret_added_to_the_repository_changes_every_child_using_it() -> None:
    result = preview("secret")
    assert summary(result) == {
        "flux-system/scrob": [("changed", "Deployment/media/scrob-worker")],
    }
    diff = result.kustomizations[0].changes[0].diff
    assert changed_lines(diff) == [
        "-          value: https://scrob.example.org",
        "+          value: https://scrob.**MASKED**",
    ]


def test_cluster_setting_change_reaches_children_through_the_parent_patch() -> None:
    result = preview("settings")
    assert summary(result) == {
        "flux-system/scrob": [("changed", "Deployment/media/scrob-worker")],
    }
    assert changed_lines(result.kustomizations[0].changes[0].diff) == [
        "-          value: Europe/Paris",
        "+          value: America/New_York",
    ]


def test_shared_patch_in_a_component_changes_the_parent_objects() -> None:
    result = preview("shared-patch")
    assert summary(result) == {
        "flux-system/cluster-apps": [
            ("changed", "Namespace/media"),
            ("changed", "Namespace/o11y"),
        ],
    }


def test_one_file_added_to_a_path_without_kustomization_is_one_object() -> None:
    assert summary(preview("new-file")) == {
        "flux-system/media-dashboards": [("created", "ConfigMap/media/dashboard-podcasts")],
    }


def test_generated_configmap_edit_is_a_modification_with_its_changed_lines() -> None:
    result = preview("dashboard")
    assert summary(result) == {
        "flux-system/grafana": [
            ("changed", "ConfigMap/o11y/grafana-dashboards-dgf9b75b48"),
            ("changed", "Deployment/o11y/grafana"),
        ],
    }
    dashboards, deployment = result.kustomizations[0].changes
    assert str(dashboards.renamed_from) == "ConfigMap/o11y/grafana-dashboards-bk64dt5tm2"
    assert changed_lines(dashboards.diff) == [
        '-      "title": "Nodes",',
        '+      "title": "Nodes (all)",',
        '-          "title": "Panel 61",',
        '+          "title": "CPU of node 61",',
        "-  name: grafana-dashboards-bk64dt5tm2",
        "+  name: grafana-dashboards-dgf9b75b48",
    ]
    assert len(dashboards.diff) < 1_500  # hunks, not a dump of the 2,000-line file
    assert changed_lines(deployment.diff) == [
        "-          name: grafana-dashboards-bk64dt5tm2",
        "+          name: grafana-dashboards-dgf9b75b48",
    ]
    full = diff_comment(result)
    assert (
        "`ConfigMap/o11y/grafana-dashboards-bk64dt5tm2` → `grafana-dashboards-dgf9b75b48`" in full
    )
    # the cap cuts whole objects, never changed lines, and names what it left out
    capped = diff_comment(result, max_chars=len(full) - 100)
    assert len(capped) <= len(full) - 100
    assert '+          "title": "CPU of node 61",' in capped
    assert "> ⚠️ Left out (comment size limit): `Deployment/o11y/grafana`;" in capped
    assert "+          name: grafana-dashboards-dgf9b75b48" not in capped
