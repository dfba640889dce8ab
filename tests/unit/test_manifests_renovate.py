"""``# renovate:`` annotations: docker ones are references, others are reported, never silent."""

from __future__ import annotations

from bot.core.manifests.edits import Update, apply_updates
from bot.core.manifests.renovate import find
from bot.core.manifests.scan import scan
from bot.core.manifests.sites import SiteKind

TALOS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: versions}
data:
  # renovate: datasource=docker depName=ghcr.io/siderolabs/installer
  talosVersion: v1.7.6

  # renovate: datasource=docker depName=registry.k8s.io/kube-apiserver versioning=semver

  kubernetesVersion: "v1.30.2"   # control plane
  # renovate: datasource=github-releases depName=siderolabs/talos
  talosctl: v1.7.6
  # renovate: datasource=docker depName=ghcr.io/org/tool
  tool: ghcr.io/org/tool:2.0.1
  # renovate: datasource=helm depName=cilium registryUrl=https://helm.cilium.io
  cilium: 1.15.6
"""


def test_docker_annotations_are_references_and_others_unresolved() -> None:
    found = scan({"talos/versions.yaml": TALOS})
    got = [(r.kind, r.image, r.tag, r.line, r.path, r.unresolved) for r in found.refs]
    assert got == [
        (SiteKind.ANNOTATION, "ghcr.io/siderolabs/installer", "v1.7.6", 6, "data.talosVersion",
         None),
        (SiteKind.ANNOTATION, "registry.k8s.io/kube-apiserver", "v1.30.2", 10,
         "data.kubernetesVersion", None),
        (SiteKind.ANNOTATION, "siderolabs/talos", "v1.7.6", 12, "data.talosctl",
         "renovate datasource=github-releases is not supported (docker and helm are)"),
        (SiteKind.ANNOTATION, "ghcr.io/org/tool", "2.0.1", 14, "data.tool", None),
    ]  # fmt: skip
    assert found.refs[0].object_kind == "ConfigMap"
    (helm,) = [a for a in find(TALOS, "v.yaml") if a.datasource == "helm"]
    assert (helm.dep_name, helm.registry_url, helm.value.value) == (
        "cilium",
        "https://helm.cilium.io",
        "1.15.6",
    )


def test_annotation_without_image_in_text_passes_the_prefilter() -> None:
    text = "# renovate: datasource=docker depName=alpine\nversion: 3.19.1\n"
    (ref,) = scan({"x.yaml": text}).refs
    assert (ref.image, ref.tag) == ("alpine", "3.19.1")


def test_annotated_edits_are_byte_exact() -> None:
    refs = {r.path: r for r in scan({"v.yaml": TALOS}).refs}
    out = apply_updates(
        TALOS,
        [
            Update(refs["data.talosVersion"], "v1.8.0"),
            Update(refs["data.kubernetesVersion"], "v1.31.0"),
            Update(refs["data.tool"], "2.1.0"),
        ],
    )
    assert out == (
        TALOS.replace("talosVersion: v1.7.6", "talosVersion: v1.8.0")
        .replace('"v1.30.2"', '"v1.31.0"')
        .replace("tool:2.0.1", "tool:2.1.0")
    )


def test_comment_without_fields_or_value_is_ignored() -> None:
    assert find("# renovate: nothing here\nv: 1\n", "a.yaml") == []
    assert find("a: 1\n# renovate: datasource=docker depName=x\n", "a.yaml") == []
