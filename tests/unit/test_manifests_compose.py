"""docker-compose files: ``services.<name>.image`` found and edited byte for byte."""

from __future__ import annotations

import pytest

from bot.core.manifests.edits import Update, apply_updates
from bot.core.manifests.scan import scan, scan_text
from bot.core.manifests.sites import SiteKind

COMPOSE = """\
# home stack on the NAS
services:
  web:
    image: "nginx:1.25.3"   # pinned on purpose
    ports: ["80:80"]
  db:
    image: docker.io/library/postgres:16.1@sha256:{digest}
  app:
    image: ${{REGISTRY}}/app:1.0.0
  built:
    build: ./built
  cache: {{image: 'redis:7.2.3', restart: always}}
x-common: &common
  image: not/a-service:1.0
"""
DIGEST = "a" * 64


def text() -> str:
    return COMPOSE.format(digest=DIGEST)


@pytest.mark.parametrize(
    "path",
    ["compose.yaml", "hosts/nas/docker-compose.yml", "docker-compose.prod.yaml", "compose.yml"],
)
def test_compose_file_names(path: str) -> None:
    refs = scan_text(text(), path)
    assert {r.kind for r in refs} == {SiteKind.COMPOSE}
    got = [(r.path, r.image, r.tag, r.unresolved) for r in refs]
    assert got == [
        ("services.web.image", "nginx", "1.25.3", None),
        ("services.db.image", "docker.io/library/postgres", "16.1", None),
        ("services.app.image", "${REGISTRY}/app:1.0.0", None, "templated value"),
        ("services.cache.image", "redis", "7.2.3", None),
    ]
    assert refs[0].line == 4 and refs[1].digest == f"sha256:{DIGEST}"


def test_other_yaml_files_with_services_are_not_compose() -> None:
    assert scan_text(text(), "apps/values.yaml") == []
    # Renovate's fileMatch: any compose*.y?ml base name counts, whatever comes between
    assert scan({"ansible/compose-vars.yaml": "services: {a: {image: x:1}}\n"}).refs
    assert not scan({"ansible/vars-compose.yaml": "services: {a: {image: x:1}}\n"}).refs
    # a Kubernetes object in a compose-named file is read as an object, not as compose
    pod = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.0\n"
    assert [r.kind for r in scan_text(pod, "compose.yaml")] == [SiteKind.CONTAINER]


def test_compose_edits_are_byte_exact() -> None:
    original = text()
    refs = {r.path: r for r in scan_text(original, "compose.yaml")}
    new_digest = "sha256:" + "b" * 64
    out = apply_updates(
        original,
        [
            Update(refs["services.web.image"], "1.27.0"),
            Update(refs["services.db.image"], "16.4", new_digest),
            Update(refs["services.cache.image"], "7.4.1"),
        ],
    )
    expected = (
        original.replace('"nginx:1.25.3"', '"nginx:1.27.0"')
        .replace(f"postgres:16.1@sha256:{DIGEST}", f"postgres:16.4@{new_digest}")
        .replace("'redis:7.2.3'", "'redis:7.4.1'")
    )
    assert out == expected


def test_each_reference_knows_its_object_kind() -> None:
    envoy = (
        "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: EnvoyProxy\nmetadata: {name: p}\n"
        "spec:\n  provider:\n    kubernetes:\n      envoyDeployment:\n        container:\n"
        "          image: docker.io/envoyproxy/envoy:distroless-v1.31.0\n"
        "---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.0\n"
    )
    kinds = [(r.kind, r.object_kind) for r in scan_text(envoy, "gw.yaml")]
    assert kinds == [
        (SiteKind.KUBERNETES_IMAGE, "gateway.envoyproxy.io/EnvoyProxy"),
        (SiteKind.CONTAINER, "Pod"),
    ]
    assert {r.object_kind for r in scan_text(text(), "compose.yaml")} == {"compose"}


def test_exclude_kinds_in_config() -> None:
    from bot.core.config import load_config

    cfg = load_config("exclude:\n  kinds: [EnvoyProxy, 'monitoring.coreos.com/*', compose]\n")
    assert cfg.excluded_kind("gateway.envoyproxy.io/EnvoyProxy")
    assert cfg.excluded_kind("monitoring.coreos.com/Prometheus")
    assert cfg.excluded_kind("compose")
    assert not cfg.excluded_kind("apps/Deployment") and not cfg.excluded_kind(None)
    with pytest.raises(Exception, match=r"\$\.exclude\.kinds"):
        load_config("exclude:\n  kinds: [1]\n")
