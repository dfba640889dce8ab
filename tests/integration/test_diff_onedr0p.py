"""Flux diff scenarios on onedr0p-home-ops (GitRepository source, nested Kustomizations).

Real kubectl; also drives ``fluxbot diff`` end to end on the scenario repository.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.app.cli.app import main
from bot.app.cli.diff import DIFF_EXIT
from bot.core.flux.diff import PreviewDiff
from bot.jobs.preview import run_preview
from tests.support.diff_fixtures import ScenarioRepo

ATUIN = "kubernetes/apps/default/atuin/app/helmrelease.yaml"
OLD_TAG = "18.19.0@sha256:4d0ccca1d151f860b3f469c60df78bf1ab798f15e88dc1912d31d6741653eb99"

NEW_KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: echo
spec:
  interval: 1h
  path: ./kubernetes/apps/default/echo/app
  postBuild:
    substitute:
      APP: echo
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: default
"""
NEW_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${APP}-settings
data:
  greeting: hello from ${APP}
  price: $${NOT_A_VAR}
"""


def _summary(result: PreviewDiff) -> dict[str, list[tuple[str, str, str, str]]]:
    return {
        k.label: [(str(c.action), c.key.kind, c.key.namespace, c.key.name) for c in k.changes]
        for k in result.kustomizations
    }


def test_image_bump_renders_only_its_kustomization(onedr0p_repo: ScenarioRepo) -> None:
    base, head, changed = onedr0p_repo.scenario(
        "atuin-bump", {ATUIN: lambda t: t.replace(OLD_TAG, "18.20.0")}
    )
    result = run_preview(base, head, changed)
    assert result.affected == 1
    assert _summary(result) == {"default/atuin": [("changed", "HelmRelease", "default", "atuin")]}
    (entry,) = result.kustomizations
    assert entry.images == ((f"ghcr.io/atuinsh/atuin:{OLD_TAG}", "ghcr.io/atuinsh/atuin:18.20.0"),)
    diff = entry.changes[0].diff
    assert f"-              tag: {OLD_TAG}\n+              tag: 18.20.0\n" in diff


def test_new_kustomization_creates_objects(onedr0p_repo: ScenarioRepo) -> None:
    base, head, changed = onedr0p_repo.scenario(
        "new-ks",
        {
            "kubernetes/apps/default/echo/ks.yaml": NEW_KS,
            "kubernetes/apps/default/echo/app/kustomization.yaml": "resources:\n  - ./cm.yaml\n",
            "kubernetes/apps/default/echo/app/cm.yaml": NEW_CM,
            "kubernetes/apps/default/kustomization.yaml": lambda t: t.replace(
                "  - ./atuin/ks.yaml\n", "  - ./atuin/ks.yaml\n  - ./echo/ks.yaml\n"
            ),
        },
    )
    result = run_preview(base, head, changed)
    assert _summary(result) == {
        "default/echo": [("created", "ConfigMap", "default", "echo-settings")],
        "flux-system/cluster-apps": [
            ("created", "Kustomization", "default", "echo"),
        ],
    }
    echo = next(k for k in result.kustomizations if k.label == "default/echo")
    diff = echo.changes[0].diff
    assert "+  greeting: hello from echo\n" in diff and "+  price: ${NOT_A_VAR}\n" in diff
    parent = next(k for k in result.kustomizations if k.label == "flux-system/cluster-apps")
    # the parent's patches reach the child Kustomization object, as Flux applies them
    assert (
        "+  - patch: |-\n+      apiVersion: helm.toolkit.fluxcd.io/v2\n" in parent.changes[0].diff
    )
    assert "+          cleanupOnFail: true\n" in parent.changes[0].diff


def test_unrelated_change_renders_nothing(onedr0p_repo: ScenarioRepo) -> None:
    base, head, changed = onedr0p_repo.scenario(
        "docs", {"README.md": lambda t: t + "\nA new paragraph.\n", ".github/labels.yaml": None}
    )
    result = run_preview(base, head, changed)
    assert result.affected == 0 and result.empty


def test_cli_diff(onedr0p_repo: ScenarioRepo) -> None:
    onedr0p_repo.scenario("cli", {ATUIN: lambda t: t.replace(OLD_TAG, "18.21.0")})
    runner = CliRunner()
    args = ["diff", str(onedr0p_repo.path), "--base", "base", "--head", "HEAD"]
    res = runner.invoke(main, [*args, "--format", "json", "--exit-code"])
    assert res.exit_code == DIFF_EXIT, res.output
    data = json.loads(res.stdout)
    assert [k["kustomization"] for k in data["kustomizations"]] == ["default/atuin"]
    assert data["kustomizations"][0]["changed"] == 1
    # no difference between a ref and itself: exit 0
    same = runner.invoke(
        main, ["diff", str(onedr0p_repo.path), "--base", "HEAD", "--head", "HEAD", "--exit-code"]
    )
    assert same.exit_code == 0, same.output
    bad = runner.invoke(main, ["diff", str(onedr0p_repo.path), "--base", "no-such-ref"])
    assert bad.exit_code == 1 and "error:" in bad.output


def test_cli_working_tree_text(onedr0p_repo: ScenarioRepo) -> None:
    onedr0p_repo.git("checkout", "-q", "-B", "worktree", "base")
    path = onedr0p_repo.path / ATUIN
    original = path.read_text()
    path.write_text(original.replace(OLD_TAG, "18.22.0"))
    try:
        res = CliRunner().invoke(main, ["diff", str(onedr0p_repo.path), "--base", "base"])
    finally:
        path.write_text(original)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("=== default/atuin: +0 ~1 -0\n")
    assert f"image: ghcr.io/atuinsh/atuin:{OLD_TAG} -> ghcr.io/atuinsh/atuin:18.22.0" in res.stdout
