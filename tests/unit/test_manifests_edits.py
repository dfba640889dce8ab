"""bot.core.manifests.edits: golden before/after edits for every site kind and formatting hazard."""

from __future__ import annotations

import pytest

from bot.core.errors import ManifestError
from bot.core.manifests.edits import Update, apply_updates
from bot.core.manifests.scan import scan_text
from bot.core.manifests.sites import SiteKind

OLD = "sha256:" + "ab" * 32
NEW = "sha256:" + "cd" * 32


def update_all(text: str, path: str, tag: str, digest: str | None = None) -> str:
    refs = [r for r in scan_text(text, path) if r.unresolved is None]
    assert refs
    return apply_updates(text, [Update(r, tag, digest) for r in refs])


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("image: nginx:1.25", "image: nginx:1.27"),
        ('image: "nginx:1.25"', 'image: "nginx:1.27"'),
        ("image: 'nginx:1.25'", "image: 'nginx:1.27'"),
        ("image:   nginx:1.25   # pinned by ops", "image:   nginx:1.27   # pinned by ops"),
        ("{name: a, image: nginx:1.25}", "{name: a, image: nginx:1.27}"),
    ],
)
def test_container_image_styles(before: str, after: str) -> None:
    head = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - "
    assert update_all(head + before + "\n", "pod.yaml", "1.27") == head + after + "\n"


def test_digest_pin_in_one_scalar_updates_tag_and_digest_together() -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        f"      containers:\n        - image: ghcr.io/o/a:v1.0.0@{OLD}\n"
    )
    assert update_all(text, "d.yaml", "v1.1.0", NEW) == text.replace(
        f"v1.0.0@{OLD}", f"v1.1.0@{NEW}"
    )


def test_pinned_reference_without_new_digest_is_refused() -> None:
    text = f"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: a/b:1.0@{OLD}\n"
    (ref,) = scan_text(text, "p.yaml")
    with pytest.raises(ManifestError, match="stale digest"):
        apply_updates(text, [Update(ref, "1.1")])


def test_kustomize_images_numeric_tag_gets_quotes_and_digest_field() -> None:
    before = (
        "# kustomize\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "images:\n"
        "  - name: redis\n"
        "    newTag: v7.0   # comment stays\n"
        "  - name: app\n"
        "    newName: ghcr.io/o/app\n"
        "    newTag: 1.0.0\n"
        f"    digest: {OLD}\n"
    )
    refs = scan_text(before, "kustomization.yaml")
    after = apply_updates(before, [Update(refs[0], "7.2"), Update(refs[1], "1.1.0", NEW)])
    assert after == (
        before.replace("newTag: v7.0", 'newTag: "7.2"')
        .replace("newTag: 1.0.0", "newTag: 1.1.0")
        .replace(OLD, NEW)
    )


def test_flux_kustomization_images() -> None:
    text = (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec:\n  images:\n"
        "    - name: podinfo\n      newTag: '6.5.0'\n"
    )
    assert update_all(text, "ks.yaml", "6.6.0") == text.replace("'6.5.0'", "'6.6.0'")


def test_helm_values_map_string_and_post_renderer() -> None:
    before = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\r\n"
        "kind: HelmRelease\r\n"
        "spec:\r\n"
        "  postRenderers:\r\n"
        "    - kustomize:\r\n"
        "        images: [{name: x, newTag: v1}]\r\n"
        "  values:\r\n"
        "    controllers:\r\n"
        "      main:\r\n"
        "        containers:\r\n"
        "          app:\r\n"
        "            image:\r\n"
        "              repository: ghcr.io/home-operations/sonarr\r\n"
        f"              tag: 4.0.15@{OLD}\r\n"
        "    metrics:\r\n"
        '      image: "quay.io/o/exporter:v0.15.0"\r\n'
    )
    refs = scan_text(before, "hr.yaml")
    assert [r.kind for r in refs] == [
        SiteKind.HELM_POST_RENDERER_IMAGES,
        SiteKind.HELM_VALUES_MAP,
        SiteKind.HELM_VALUES_IMAGE,
    ]
    after = apply_updates(
        before, [Update(refs[0], "v2"), Update(refs[1], "4.0.16", NEW), Update(refs[2], "v0.16.0")]
    )
    assert after == (
        before.replace("newTag: v1", "newTag: v2")
        .replace(f"4.0.15@{OLD}", f"4.0.16@{NEW}")
        .replace("exporter:v0.15.0", "exporter:v0.16.0")
    )


def test_oci_repository_tag() -> None:
    text = (
        "---\n# chart source\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n"
        "spec:\n  ref:\n    tag: 0.3.7\n  url: oci://ghcr.io/org/charts/app\n...\n"
    )
    assert update_all(text, "oci.yaml", "0.4.0") == text.replace("0.3.7", "0.4.0")


def test_standalone_marker_reference_tag_and_name() -> None:
    text = (
        "apiVersion: example.com/v1\nkind: Thing\nspec:\n"
        '  repo: ghcr.io/o/a # {"$imagepolicy": "ns:a:name"}\n'
        '  version: 1.0.0 # {"$imagepolicy": "ns:a:tag"}\n'
    )
    (ref,) = scan_text(text, "t.yaml")
    assert ref.kind is SiteKind.MARKER
    assert apply_updates(text, [Update(ref, "1.0.1")]) == text.replace("1.0.0", "1.0.1")


def test_bom_anchor_and_multi_document_hazards() -> None:
    text = (
        "\ufeff# top\n---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
        "    - image: &img nginx:1.25\n    - image: *img\n---\n# second\n"
        "apiVersion: v1\nkind: Pod\nspec: {containers: [{image: 'redis:7.0'}]}\n"
    )
    refs = scan_text(text, "p.yaml")
    assert [r.value for r in refs] == ["nginx:1.25", "redis:7.0"]
    after = apply_updates(text, [Update(refs[0], "1.27"), Update(refs[1], "7.2")])
    assert after == text.replace("nginx:1.25", "nginx:1.27").replace("redis:7.0", "redis:7.2")


def test_unresolved_reference_is_refused() -> None:
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: ${IMG}:1.0\n"
    (ref,) = scan_text(text, "p.yaml")
    with pytest.raises(ManifestError, match="templated"):
        apply_updates(text, [Update(ref, "2.0")])


def test_stale_reference_is_refused() -> None:
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.25\n"
    (ref,) = scan_text(text, "p.yaml")
    with pytest.raises(ManifestError, match="changed since"):
        apply_updates("# moved\n" + text, [Update(ref, "1.27")])


def test_same_reference_twice_is_refused() -> None:
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.25\n"
    (ref,) = scan_text(text, "p.yaml")
    with pytest.raises(ManifestError, match="same scalar"):
        apply_updates(text, [Update(ref, "1.27"), Update(ref, "1.26")])


def test_edit_that_does_not_read_back_is_refused() -> None:
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.25\n"
    (ref,) = scan_text(text, "p.yaml")
    with pytest.raises(ManifestError, match="nothing written"):
        apply_updates(text, [Update(ref, "not a tag")])


def test_updates_for_another_file_are_refused() -> None:
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.25\n"
    (mine,) = scan_text(text, "a.yaml")
    (theirs,) = scan_text(text, "b.yaml")
    with pytest.raises(ManifestError, match="several files"):
        apply_updates(text, [Update(mine, "1.27"), Update(theirs, "1.27")])


def test_no_updates_returns_the_same_text() -> None:
    text = "a: 1\n"
    assert apply_updates(text, []) is text


def test_crlf_tabs_quoted_keys_flow_and_document_end_hazards() -> None:
    text = (
        "\ufeffapiVersion: apps/v1\r\nkind: Deployment\r\n"
        "spec:\r\n  template:\r\n    spec:\r\n"
        '      "containers":\r\n'
        f'        - {{"name": a, \'image\': "ghcr.io/o/a:1.0.0@{OLD}"}}\t# pinned\t(ops)\r\n'
        "        - name: b\r\n"
        "          image: &b redis:7.0\t\t# tab before the comment\r\n"
        "      initContainers: [{name: c, image: *b}, {name: d, image: 'busybox:1.36'}]\r\n"
        "...\r\n"
        "---\r\n"
        "apiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n  - image: nginx:1.25\r\n"
        "...\r\n"
    )
    refs = scan_text(text, "mixed.yaml")
    by_value = {r.value: r for r in refs}
    pinned = f"ghcr.io/o/a:1.0.0@{OLD}"
    assert set(by_value) == {pinned, "redis:7.0", "busybox:1.36", "nginx:1.25"}
    assert by_value["nginx:1.25"].doc == 1
    after = apply_updates(
        text,
        [
            Update(by_value[pinned], "1.1.0", NEW),
            Update(by_value["redis:7.0"], "7.2"),
            Update(by_value["busybox:1.36"], "1.37"),
            Update(by_value["nginx:1.25"], "1.27"),
        ],
    )
    assert after == (
        text.replace(f"a:1.0.0@{OLD}", f"a:1.1.0@{NEW}")
        .replace("redis:7.0", "redis:7.2")
        .replace("busybox:1.36", "busybox:1.37")
        .replace("nginx:1.25", "nginx:1.27")
    )


def test_kustomize_images_flow_quoted_keys_crlf() -> None:
    text = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\r\nkind: Kustomization\r\n"
        'images: [{"name": nginx, "newTag": "1.25"}, {name: ghcr.io/o/b, newTag: 2.0, '
        f"digest: {OLD}}}]  # flow\r\n"
    )
    nginx, b = scan_text(text, "kustomization.yaml")
    after = apply_updates(text, [Update(nginx, "1.27"), Update(b, "2.1", NEW)])
    assert after == (
        text.replace('"newTag": "1.25"', '"newTag": "1.27"')
        .replace("newTag: 2.0,", 'newTag: "2.1",')  # would read as a number
        .replace(OLD, NEW)
    )
