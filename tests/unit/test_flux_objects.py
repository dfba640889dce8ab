"""Typed Flux models: group (not version) checks, malformed objects as named problems."""

from __future__ import annotations

import pytest

from bot.core.errors import ManifestError
from bot.core.flux.objects import (
    ArtifactGenerator,
    HelmRelease,
    ImagePolicy,
    ImageRepository,
    ImageUpdateAutomation,
    Kustomization,
    ObjectKey,
    OCIRepository,
    parse_document,
    parse_tree,
)
from tests.support.paths import FLUX_EXAMPLE, ONEDR0P


def _tree(root: object) -> dict[str, str]:
    from pathlib import Path

    base = Path(str(root))
    return {
        str(p.relative_to(base)): p.read_text(encoding="utf-8", errors="replace")
        for p in base.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }


KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/{v}
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  path: ./apps/
  sourceRef: {{kind: GitRepository, name: flux-system}}
  targetNamespace: web
  components: [../c]
  postBuild:
    substitute: {{A: "1"}}
    substituteFrom: [{{kind: ConfigMap, name: vars, optional: true}}]
"""


@pytest.mark.parametrize("version", ["v1", "v1beta2", "v9"])
def test_kustomization_group_not_version(version: str) -> None:
    objs = parse_tree({"ks.yaml": KS.format(v=version)})
    assert objs.problems == ()
    (ks,) = objs.kustomizations
    assert ks.key == ObjectKey(
        "kustomize.toolkit.fluxcd.io", "Kustomization", "flux-system", "apps"
    )
    assert ks.path == "apps" and ks.target_namespace == "web"
    assert ks.source_ref.namespace == "flux-system"
    assert ks.substitute == {"A": "1"}
    assert ks.substitute_from[0].name == "vars" and ks.substitute_from[0].optional
    assert ks.components == ("../c",)


def test_wrong_group_is_not_a_flux_object() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Kustomization", "metadata": {"name": "x"}}
    assert parse_document(doc) is None
    with pytest.raises(ValueError):
        Kustomization.parse(doc)


def test_image_kinds_v1_and_v1beta2() -> None:
    for v in ("v1", "v1beta2"):
        repo = ImageRepository.parse(
            {
                "apiVersion": f"image.toolkit.fluxcd.io/{v}",
                "kind": "ImageRepository",
                "metadata": {"name": "app", "namespace": "ns"},
                "spec": {"image": "ghcr.io/a/b"},
            }
        )
        assert repo.image == "ghcr.io/a/b"
        pol = ImagePolicy.parse(
            {
                "apiVersion": f"image.toolkit.fluxcd.io/{v}",
                "kind": "ImagePolicy",
                "metadata": {"name": "app", "namespace": "ns"},
                "spec": {
                    "imageRepositoryRef": {"name": "app"},
                    "policy": {"semver": {"range": "1.x"}},
                },
            }
        )
        assert pol.image_repository.namespace == "ns" and pol.policy["semver"]["range"] == "1.x"
        iua = ImageUpdateAutomation.parse(
            {
                "apiVersion": f"image.toolkit.fluxcd.io/{v}",
                "kind": "ImageUpdateAutomation",
                "metadata": {"name": "a", "namespace": "ns"},
                "spec": {
                    "sourceRef": {"kind": "GitRepository", "name": "r"},
                    "update": {"path": "./clusters", "strategy": "Setters"},
                },
            }
        )
        assert iua.update_path == "clusters"


def test_malformed_documents_are_named_problems_not_crashes() -> None:
    tree = {
        "a.yaml": "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"
        "metadata: {name: p, namespace: n}\nspec: {policy: {}}\n---\n" + KS.format(v="v1"),
        "b.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: [unclosed\n",
        "c.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h}\n"
        "spec: {values: {}}\n",
    }
    objs = parse_tree(tree)
    assert len(objs.kustomizations) == 1
    msgs = [str(p) for p in objs.problems]
    assert any(m.startswith("a.yaml (document 1): invalid ImagePolicy") for m in msgs), msgs
    assert any(m.startswith("b.yaml") and "b.yaml: b.yaml" not in m for m in msgs), msgs
    assert any(m.startswith("c.yaml (document 1)") and "chart" in m for m in msgs), msgs
    with pytest.raises(ManifestError, match=r"c.yaml \(document 1\)"):
        parse_document(
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "h"},
                "spec": {},
            },
            "c.yaml",
            0,
        )


def test_namespace_from_enclosing_kustomization_and_patch_files_skipped() -> None:
    tree = {
        "apps/kustomization.yaml": "namespace: default\nresources: [./x/ks.yaml]\n"
        "patches: [{path: patch.yaml}]\n",
        "apps/x/ks.yaml": KS.format(v="v1").replace("  namespace: flux-system\n", ""),
        "apps/patch.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
        "metadata: {name: h}\nspec: {values: {a: 1}}\n",
    }
    objs = parse_tree(tree)
    assert objs.problems == ()
    assert objs.kustomizations[0].namespace == "default"
    assert "apps/patch.yaml" in objs.patch_files


def test_real_repositories_parse_without_problems() -> None:
    one = parse_tree(_tree(ONEDR0P))
    assert one.problems == ()
    assert len(one.kustomizations) >= 70 and len(one.of(HelmRelease)) >= 60
    assert len(one.of(OCIRepository)) >= 60
    ex = parse_tree(_tree(FLUX_EXAMPLE))
    assert ex.problems == ()
    (gen, _) = ex.of(ArtifactGenerator)
    assert {a.name for a in gen.artifacts} == {"infrastructure", "apps"}
    assert gen.sources["monorepo"].kind == "GitRepository"
    rule = next(a for a in gen.artifacts if a.name == "apps").copy[0]
    assert (rule.source, rule.pattern, rule.to) == ("monorepo", "apps/base/**", "base/")
    cm = next(h for h in ex.of(HelmRelease) if h.name == "cert-manager")
    assert cm.chart_ref is not None and cm.chart_ref.kind == "OCIRepository"


def test_entries_leaving_the_repository_are_named_inside_ones_are_not() -> None:
    from bot.core.flux.kustomizefile import KustomizeFile

    doc = {
        "resources": ["../base", "../../../outside"],
        "components": ["../../components/common"],
        "replacements": [{"path": "/etc/passwd"}, {"path": "../../components/r.yaml"}],
        "patches": [{"path": "https://example.com/p.yaml"}],
    }
    kf = KustomizeFile.parse(doc, "kubernetes/apps/kustomization.yaml")
    assert kf.outside == ("../../../outside", "/etc/passwd")
    assert kf.remote == ("https://example.com/p.yaml",)
    assert "../../components/r.yaml" in kf.other_files  # replacements files are read
