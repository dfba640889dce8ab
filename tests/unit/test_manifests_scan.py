"""bot.core.manifests.scan: every site kind of the table, markers, unresolvable values, spans."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.core.manifests.edits
import bot.core.manifests.scalars
import bot.core.manifests.scan
import bot.core.manifests.setters
import bot.core.manifests.yamlload
import bot.core.policy.shape
from bot.core.errors import ManifestError
from bot.core.manifests.refs import ImageRef
from bot.core.manifests.scan import may_hold_reference, scan, scan_text
from bot.core.manifests.setters import apply
from bot.core.manifests.sites import Role, SiteKind

DIGEST = "sha256:" + "ab" * 32


def one(text: str, path: str = "app.yaml") -> ImageRef:
    refs = scan_text(text, path)
    assert len(refs) == 1, refs
    return refs[0]


def spans(text: str, ref: ImageRef) -> dict[Role, str]:
    return {s.role: text[s.start : s.end] for s in ref.spans}


WORKLOAD = """\
apiVersion: apps/v1
kind: {kind}
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: app
          image: "ghcr.io/org/app:v1.2.3@{digest}"
"""


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"])
def test_workload_containers(kind: str) -> None:
    text = WORKLOAD.format(kind=kind, digest=DIGEST)
    init, app = scan_text(text, "deploy.yaml")
    assert (init.kind, init.image, init.tag, init.digest, init.line) == (
        SiteKind.CONTAINER,
        "busybox",
        "1.36",
        None,
        10,
    )
    assert init.path == "spec.template.spec.initContainers[0].image"
    assert (app.image, app.tag, app.digest, app.line) == ("ghcr.io/org/app", "v1.2.3", DIGEST, 13)
    assert spans(text, app) == {Role.REF: f'"ghcr.io/org/app:v1.2.3@{DIGEST}"'}
    assert app.spans[0].style == '"'


def test_job_cronjob_pod_and_ephemeral_containers() -> None:
    text = (
        "apiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n"
        "        spec:\n          containers:\n            - image: alpine:3.19\n"
        "---\napiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n"
        "      containers: [{name: a, image: 'curl:8.5.0'}]\n"
        "---\napiVersion: v1\nkind: Pod\nspec:\n  ephemeralContainers:\n    - image: debug:1\n"
    )
    cron, job, pod = scan_text(text, "jobs.yaml")
    assert [r.kind for r in (cron, job, pod)] == [SiteKind.CONTAINER] * 3
    assert [(r.doc, r.value) for r in (cron, job, pod)] == [
        (0, "alpine:3.19"),
        (1, "curl:8.5.0"),
        (2, "debug:1"),
    ]
    assert job.spans[0].flow and job.spans[0].style == "'"


def test_wrong_group_is_not_a_workload_but_image_strings_still_found() -> None:
    text = "apiVersion: example.com/v1\nkind: Deployment\nspec:\n  x:\n    image: nginx:1.25\n"
    assert one(text).kind is SiteKind.KUBERNETES_IMAGE


def test_kustomize_images_in_kustomization_file_only() -> None:
    text = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n"
        "  - name: nginx\n    newName: mirror.gcr.io/nginx\n    newTag: 1.25.3\n"
        "  - name: app\n    digest: " + DIGEST + "\n"
        "  - name: renamed-only\n    newName: x/y\n"
    )
    tagged, pinned = scan_text(text, "apps/kustomization.yaml")
    assert tagged.kind is SiteKind.KUSTOMIZE_IMAGES
    assert (tagged.image, tagged.tag, tagged.digest) == ("mirror.gcr.io/nginx", "1.25.3", None)
    assert spans(text, tagged) == {Role.TAG: "1.25.3", Role.NAME: "mirror.gcr.io/nginx"}
    assert (pinned.image, pinned.tag, pinned.digest) == ("app", None, DIGEST)
    assert scan_text(text, "apps/other.yaml") == []
    bare = "images:\n- name: redis\n  newTag: '7.2'\n"
    ref = one(bare, "Kustomization")
    assert (ref.tag, ref.spans[0].style) == ("7.2", "'")
    component = bare.replace("images", "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
                             "kind: Component\nimages")  # fmt: skip
    assert one(component, "c/kustomization.yml").kind is SiteKind.KUSTOMIZE_IMAGES


def test_flux_kustomization_images_and_helm_post_renderers() -> None:
    text = (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  images:\n"
        "    - name: podinfo\n      newTag: 6.5.0\n"
        "---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n"
        "  postRenderers:\n    - kustomize:\n        images:\n"
        "          - {name: redis, newName: docker.io/redis, newTag: 7.2.4}\n"
    )
    flux, post = scan_text(text, "kustomization.yaml")
    assert (flux.kind, flux.value) == (SiteKind.FLUX_KUSTOMIZATION_IMAGES, "podinfo:6.5.0")
    assert (post.kind, post.value) == (SiteKind.HELM_POST_RENDERER_IMAGES, "docker.io/redis:7.2.4")
    assert post.spans[0].flow


HELM = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app
spec:
  values:
    controllers:
      main:
        containers:
          app:
            image:
              repository: ghcr.io/home-operations/sonarr
              tag: 4.0.15@{digest}
    sidecarImage: docker.io/library/nginx:1.25-alpine
    exporter:
      image:
        registry: quay.io
        repository: prometheus/exporter
        tag: v0.15.0
        digest: {digest}
    enableImage: true
    other:
      image:
        repository: ghcr.io/no/tag
    templated:
      image: "${{REGISTRY}}/app:1.0"
"""


def test_helm_values_strings_and_maps_at_any_depth() -> None:
    text = HELM.format(digest=DIGEST)
    sonarr, nginx, exporter, templated = scan_text(text, "helmrelease.yaml")
    assert sonarr.kind is SiteKind.HELM_VALUES_MAP
    assert sonarr.path == "spec.values.controllers.main.containers.app.image"
    assert (sonarr.image, sonarr.tag, sonarr.digest, sonarr.line) == (
        "ghcr.io/home-operations/sonarr",
        "4.0.15",
        DIGEST,
        13,
    )
    assert spans(text, sonarr) == {
        Role.TAG: f"4.0.15@{DIGEST}",
        Role.NAME: "ghcr.io/home-operations/sonarr",
    }
    assert (nginx.kind, nginx.image, nginx.tag) == (
        SiteKind.HELM_VALUES_IMAGE,
        "docker.io/library/nginx",
        "1.25-alpine",
    )
    assert (exporter.image, exporter.tag, exporter.digest) == (
        "quay.io/prometheus/exporter",
        "v0.15.0",
        DIGEST,
    )
    assert set(spans(text, exporter)) == {Role.TAG, Role.DIGEST, Role.NAME}
    assert templated.unresolved == "templated value"
    assert templated.image == "${REGISTRY}/app:1.0"


def test_oci_repository_tag_digest_and_semver() -> None:
    text = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nspec:\n"
        "  url: oci://ghcr.io/org/charts/app\n  ref:\n    tag: 1.2.3\n"
        "---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nspec:\n"
        "  url: oci://ghcr.io/org/charts/b\n  ref:\n    semver: '>=1.0.0'\n"
    )
    ref = one(text, "oci.yaml")
    assert (ref.kind, ref.image, ref.tag, ref.line, ref.path) == (
        SiteKind.OCI_REPOSITORY,
        "ghcr.io/org/charts/app",
        "1.2.3",
        6,
        "spec.ref",
    )
    assert spans(text, ref)[Role.TAG] == "1.2.3"


def test_unresolvable_values_are_exposed_not_dropped() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
        "    - image: nginx\n"
        "    - image: '{{ .Values.image }}'\n"
        "    - image: UPPER/Case:1\n"
        "    - image: ''\n"
    )
    refs = scan_text(text, "pod.yaml")
    assert [(r.image, r.unresolved is not None) for r in refs] == [
        ("nginx", True),
        ("{{ .Values.image }}", True),
        ("UPPER/Case:1", True),
    ]
    assert refs[0].unresolved == "no tag"
    assert refs[1].unresolved == "templated value"
    assert refs[2].unresolved is not None and refs[2].unresolved.startswith("invalid reference")


def test_markers_attach_to_detected_refs_and_stand_alone() -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n"
        '        - image: podinfo:6.0.0 # {"$imagepolicy": "flux-system:podinfo"}\n'
        "---\napiVersion: example.com/v1\nkind: Thing\nspec:\n  app:\n"
        '    repo: ghcr.io/org/app # {"$imagepolicy": "apps:app:name"}\n'
        '    version: 1.0.0 # {"$imagepolicy": "apps:app:tag"}\n'
    )
    deployed, thing = scan_text(text, "m.yaml")
    assert (deployed.kind, deployed.marker) == (SiteKind.CONTAINER, "flux-system:podinfo")
    assert thing.kind is SiteKind.MARKER
    assert (thing.marker, thing.image, thing.tag, thing.line, thing.path) == (
        "apps:app",
        "ghcr.io/org/app",
        "1.0.0",
        14,
        "spec.app",
    )
    assert spans(text, thing) == {Role.NAME: "ghcr.io/org/app", Role.TAG: "1.0.0"}


def test_alias_gives_one_reference_and_merge_keys_are_followed() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nspec:\n"
        "  containers:\n    - &c {name: a, image: nginx:1.25}\n    - *c\n"
        "  initContainers:\n    - <<: {name: b, image: 'redis:7'}\n      name: c\n"
    )
    refs = scan_text(text, "pod.yaml")
    assert [r.value for r in refs] == ["nginx:1.25", "redis:7"]


def test_scan_tree_owner_errors_and_prefilter() -> None:
    tree = {
        "a/deploy.yaml": WORKLOAD.format(kind="Deployment", digest=DIGEST),
        "b/broken.yaml": "image: [\n",
        "c/unrelated.yaml": "this: is [not yaml but has no refs\n",
        "d/crlf.yaml": "\ufeffapiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n"
        "  - image: nginx:1.25\r\n",
    }
    found = scan(tree, owner=lambda path: "flux-system/apps" if path.startswith("a/") else None)
    assert found.parsed == 3
    assert len(found.errors) == 1 and found.errors[0].startswith("b/broken.yaml: document 1")
    assert [(r.file, r.kustomization) for r in found.refs] == [
        ("a/deploy.yaml", "flux-system/apps"),
        ("a/deploy.yaml", "flux-system/apps"),
        ("d/crlf.yaml", None),
    ]
    crlf = found.refs[2]
    text = tree["d/crlf.yaml"]
    assert text[crlf.spans[0].start : crlf.spans[0].end] == "nginx:1.25"
    assert crlf.line == 5
    assert may_hold_reference("kind: OCIRepository") and may_hold_reference("sidecarIMAGE: x")
    assert not may_hold_reference("kind: ConfigMap\ndata: {a: b}\n")


@pytest.mark.parametrize(
    "module",
    [
        bot.core.manifests.yamlload,
        bot.core.manifests.scalars,
        bot.core.manifests.setters,
        bot.core.manifests.scan,
        bot.core.manifests.edits,
        bot.core.policy.shape,
    ],
)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0 and result.attempted > 0


_PIECES = st.sampled_from(
    [
        "apiVersion: v1\n", "kind: Pod\n", "spec:\n", "  containers:\n", "    - image: ",
        "nginx:1.25", "&a ", "*a", "'x:1'", '"y:2"', " # {\"$imagepolicy\": \"ns:p\"}", "\n",
        "- ", "[", "]", "{", "}", ", ", ": ", "---\n", "|\n", "  ", "\r\n", "\ufeff", "${V}",
        "images:\n", "  - name: n\n    newTag: 1.0\n", "<<: ", "!tag ",
    ]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=25).map("".join))
def test_scan_and_setters_only_ever_raise_manifest_error(text: str) -> None:
    try:
        refs = scan_text(text, "fuzz.yaml")
    except ManifestError:
        return
    for ref in refs:
        for span in ref.spans:
            assert text[span.start : span.end].strip("'\"") == span.value or span.style
    result = apply(text, {"ns:p": {"image": "img", "tag": "2.0"}})
    assert result == text or "img:2.0" in result
