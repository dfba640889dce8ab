"""Flux diff scenarios on flux2-kustomize-helm-example (ArtifactGenerator sources), real kubectl.

A setup commit adds a base Deployment, a base Secret, and a substituteFrom ConfigMap used by the
staging overlay; every scenario is one commit on top of it and must produce exactly the expected
object diff.
"""

from __future__ import annotations

import json
import logging

import pytest

from bot.core.flux.diff import Action, PreviewDiff
from bot.core.flux.mask import MASK_AFTER, MASK_BEFORE
from bot.core.render.preview import diff_comment, diff_json, diff_text
from bot.jobs.preview import run_preview
from tests.support.diff_fixtures import ScenarioRepo

STAGING = "flux-system/apps (clusters/staging)"
PRODUCTION = "flux-system/apps (clusters/production)"
CANARY_A = "canary-A-Hh83kd-never-show"
CANARY_B = "canary-B-Qp27zx-never-show"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 1
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
        - name: worker
          image: ghcr.io/stefanprodan/podinfo:6.9.0
"""
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: podinfo-token
stringData:
  token: {value}
"""
VARS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  CLUSTER_DOMAIN: {domain}
"""


@pytest.fixture(scope="module")
def repo(flux_example_repo: ScenarioRepo) -> ScenarioRepo:
    r = flux_example_repo
    r.commit(
        {
            "apps/base/podinfo/deployment.yaml": DEPLOYMENT,
            "apps/base/podinfo/secret.yaml": SECRET.format(value=CANARY_A),
            "apps/base/podinfo/kustomization.yaml": lambda t: t.replace(
                "  - release.yaml\n", "  - release.yaml\n  - deployment.yaml\n  - secret.yaml\n"
            ),
            "clusters/staging/vars.yaml": VARS.format(domain="staging.example.com"),
            "clusters/staging/apps.yaml": lambda t: (
                t
                + "  postBuild:\n    substituteFrom:\n"
                + "      - kind: ConfigMap\n        name: cluster-vars\n"
            ),
            "apps/staging/podinfo-values.yaml": lambda t: t.replace(
                "- podinfo.staging", "- podinfo.${CLUSTER_DOMAIN}"
            ),
        },
        "setup",
    )
    r.git("branch", "-f", "base", "HEAD")
    return r


def _summary(result: PreviewDiff) -> dict[str, list[tuple[str, str, str, str]]]:
    return {
        k.label: [(str(c.action), c.key.kind, c.key.namespace, c.key.name) for c in k.changes]
        for k in result.kustomizations
    }


def _errors(result: PreviewDiff) -> list[str]:
    return [e for k in result.kustomizations for e in (k.base_error, k.head_error) if e]


def test_image_bump_in_base_changes_both_clusters(repo: ScenarioRepo) -> None:
    base, head, changed = repo.scenario(
        "image-bump",
        {"apps/base/podinfo/release.yaml": lambda t: t.replace("tag: 8.6.2", "tag: 8.6.3")},
    )
    result = run_preview(base, head, changed)
    assert _errors(result) == []
    want = [("changed", "HelmRelease", "podinfo", "podinfo")]
    assert _summary(result) == {PRODUCTION: want, STAGING: want}
    for k in result.kustomizations:
        assert k.images == (
            (
                "public.ecr.aws/docker/library/redis:8.6.2",
                "public.ecr.aws/docker/library/redis:8.6.3",
            ),
        )
        diff = k.changes[0].diff
        minus = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
        plus = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        assert [m.strip() for m in minus] == ["-      tag: 8.6.2".strip()]
        assert [p.strip() for p in plus] == ["+      tag: 8.6.3".strip()]
        assert any("chart not rendered" in n for n in k.notes)


def test_replica_change_in_base(repo: ScenarioRepo) -> None:
    base, head, changed = repo.scenario(
        "replicas",
        {"apps/base/podinfo/deployment.yaml": lambda t: t.replace("replicas: 1", "replicas: 3")},
    )
    result = run_preview(base, head, changed)
    want = [("changed", "Deployment", "podinfo", "worker")]
    assert _summary(result) == {PRODUCTION: want, STAGING: want}
    assert "-  replicas: 1\n+  replicas: 3\n" in result.kustomizations[0].changes[0].diff


def test_patch_in_overlay_changes_only_staging(repo: ScenarioRepo) -> None:
    base, head, changed = repo.scenario(
        "overlay-patch",
        {"apps/staging/podinfo-values.yaml": lambda t: t.replace(">=1.0.0-alpha", ">=6.0.0")},
    )
    result = run_preview(base, head, changed)
    assert result.affected == 1
    assert _summary(result) == {STAGING: [("changed", "HelmRelease", "podinfo", "podinfo")]}
    diff = result.kustomizations[0].changes[0].diff
    assert "-      version: '>=1.0.0-alpha'\n+      version: '>=6.0.0'\n" in diff


def test_substitute_from_configmap_variable_change(repo: ScenarioRepo) -> None:
    base, head, changed = repo.scenario(
        "vars", {"clusters/staging/vars.yaml": VARS.format(domain="stage2.example.com")}
    )
    assert changed == ["clusters/staging/vars.yaml"]
    result = run_preview(base, head, changed)
    assert _summary(result) == {STAGING: [("changed", "HelmRelease", "podinfo", "podinfo")]}
    diff = result.kustomizations[0].changes[0].diff
    assert "-      - podinfo.staging.example.com" in diff
    assert "+      - podinfo.stage2.example.com" in diff


def test_secret_change_is_masked_everywhere(
    repo: ScenarioRepo, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    base, head, changed = repo.scenario(
        "secret", {"apps/base/podinfo/secret.yaml": SECRET.format(value=CANARY_B)}
    )
    result = run_preview(base, head, changed)
    want = [("changed", "Secret", "podinfo", "podinfo-token")]
    assert _summary(result) == {PRODUCTION: want, STAGING: want}
    diff = result.kustomizations[0].changes[0].diff
    assert f"-  token: '{MASK_BEFORE}'" in diff and f"+  token: '{MASK_AFTER}'" in diff
    outputs = [diff_comment(result), diff_text(result), diff_json(result), repr(result)]
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err, caplog.text]
    for text in outputs:
        assert CANARY_A not in text and CANARY_B not in text
        assert "Hh83kd" not in text and "Qp27zx" not in text


def test_unrelated_change_renders_nothing(repo: ScenarioRepo) -> None:
    base, head, changed = repo.scenario("readme", {"README.md": lambda t: t + "\nmore words\n"})
    result = run_preview(base, head, changed)
    assert result.affected == 0 and result.kustomizations == () and result.empty
    assert "No changes to rendered objects (0 affected" in diff_comment(result)


def test_broken_head_is_reported_not_raised(repo: ScenarioRepo) -> None:
    base, head, changed = repo.scenario(
        "broken",
        {"apps/staging/kustomization.yaml": lambda t: t.replace("../base/podinfo", "../missing")},
    )
    result = run_preview(base, head, changed)
    (entry,) = result.kustomizations
    assert entry.label == STAGING and entry.base_error is None
    assert entry.head_error and "kubectl failed" in entry.head_error
    data = json.loads(diff_json(result))
    assert data["kustomizations"][0]["head_error"] == entry.head_error
    assert "Render failed on head" in diff_comment(result)
    assert Action.CHANGED not in {c.action for c in entry.changes}


def test_deleted_kustomization_deletes_its_objects(repo: ScenarioRepo) -> None:
    base, head, changed = repo.scenario(
        "drop-infra", {"clusters/staging/infrastructure.yaml": None}
    )
    result = run_preview(base, head, changed)
    summary = _summary(result)
    assert set(summary) == {
        "flux-system/infra-configs (clusters/staging)",
        "flux-system/infra-controllers (clusters/staging)",
    }
    for changes in summary.values():
        assert changes and {c[0] for c in changes} == {"deleted"}
    assert ("deleted", "HelmRelease", "cert-manager", "cert-manager") in summary[
        "flux-system/infra-controllers (clusters/staging)"
    ]
