"""docs/deploy.md: every YAML object in it is valid (Flux objects against the Flux CRDs in
shared/testdata/flux-crds, the rest for Kubernetes 1.31), its HelmRelease values render with the
chart, and its RBAC is exactly what the chart creates."""

from __future__ import annotations

import re
from typing import Any

from tests.support.deploy import (
    by_kind,
    helm_binary,
    helm_template,
    load_all,
    one,
    validate_all,
)
from tests.support.paths import REPO

DOC = REPO / "docs" / "deploy.md"


def objects() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text("utf-8"), re.S)
    return [obj for block in blocks for obj in load_all(block)]


def test_every_object_in_the_deploy_page_is_valid() -> None:
    objs = objects()
    kinds = {o["kind"] for o in objs}
    assert {"OCIRepository", "HelmRelease", "ClusterRole", "RoleBinding"} <= kinds
    assert validate_all(objs) == []


def test_a_broken_flux_object_is_caught() -> None:
    release = one(objects(), "HelmRelease", "fluxbot")
    release["spec"]["chartRef"]["kind"] = "GitRepository"
    assert validate_all([release])


def test_the_helm_release_values_render_and_match_the_chart_rbac() -> None:
    objs = objects()
    values = one(objs, "HelmRelease", "fluxbot")["spec"]["values"]
    flat = {
        "existingSecret": values["existingSecret"],
        "rbac.reconcile": str(values["rbac"]["reconcile"]).lower(),
        "networkPolicy.egressPorts": "{"
        + ",".join(map(str, values["networkPolicy"]["egressPorts"]))
        + "}",
    }
    chart = helm_template(helm_binary(), flat)
    assert validate_all(o for o in chart if o["kind"] != "ServiceMonitor") == []
    assert (
        one(chart, "ClusterRole", "fluxbot-reconcile")["rules"]
        == one(objs, "ClusterRole", "fluxbot-reconcile")["rules"]
    )
    assert by_kind(chart, "ClusterRoleBinding")
