"""The shared registry fixtures themselves work against the real Distribution 2.8 binary."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx

from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import OCI_INDEX, OCI_MANIFEST, RegistryHandle
from tests.support.registry_servers import Fault, FaultProxy, PaginatingProxy, libtrust_key_id


def test_seed_thousand_tags_quickly(registry: RegistryHandle) -> None:
    repo = unique_repo()
    tags = [f"1.0.{i}" for i in range(1000)]
    digest = registry.seed(repo, tags)  # ~3 s on an idle 2-core machine; not asserted (shared CI)
    listed = httpx.get(f"{registry.url}/v2/{repo}/tags/list").json()["tags"]
    assert sorted(listed) == sorted(tags)
    head = httpx.head(f"{registry.url}/v2/{repo}/manifests/1.0.7", headers={"Accept": OCI_MANIFEST})
    assert head.headers["Docker-Content-Digest"] == digest


def test_oci_manifest_without_oci_accept_is_404(registry: RegistryHandle) -> None:
    repo = unique_repo()
    registry.seed(repo, ["v1"])
    assert httpx.head(f"{registry.url}/v2/{repo}/manifests/v1").status_code == 404


def test_seed_index(registry: RegistryHandle) -> None:
    repo = unique_repo()
    seeded = registry.seed_index(repo, "2.0.0")
    resp = httpx.get(f"{registry.url}/v2/{repo}/manifests/2.0.0", headers={"Accept": OCI_INDEX})
    assert resp.headers["Docker-Content-Digest"] == seeded.digest
    assert len(resp.json()["manifests"]) == 3
    assert set(seeded.manifests) == {"linux/amd64", "linux/arm64/v8"}


def test_htpasswd_mode(registry_htpasswd: RegistryHandle) -> None:
    repo = unique_repo()
    registry_htpasswd.seed(repo, ["a", "b"])
    anon = httpx.get(f"{registry_htpasswd.url}/v2/{repo}/tags/list")
    assert anon.status_code == 401
    assert anon.headers["WWW-Authenticate"].startswith("Basic")
    basic = base64.b64encode(b"fluxbot:s3cret-pass").decode()
    ok = httpx.get(
        f"{registry_htpasswd.url}/v2/{repo}/tags/list",
        headers={"Authorization": f"Basic {basic}"},
    )
    assert sorted(ok.json()["tags"]) == ["a", "b"]


def test_token_mode(registry_token: RegistryHandle) -> None:
    repo = unique_repo()
    registry_token.seed(repo, ["x"])
    anon = httpx.get(f"{registry_token.url}/v2/{repo}/tags/list")
    assert anon.status_code == 401
    assert anon.headers["WWW-Authenticate"].startswith("Bearer realm=")
    server = registry_token.token_server
    assert server is not None
    token = server.issue(None, [f"repository:{repo}:pull"], authenticated=False)
    ok = httpx.get(
        f"{registry_token.url}/v2/{repo}/tags/list", headers={"Authorization": f"Bearer {token}"}
    )
    assert ok.json()["tags"] == ["x"]
    assert len(server.kid.split(":")) == 12
    assert server.kid == libtrust_key_id(server.key.public_key())


def test_paginating_proxy(
    registry: RegistryHandle, paginating_proxy: Callable[..., PaginatingProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, [f"t{i:03d}" for i in range(25)])
    proxy = paginating_proxy(registry.url, page_size=10)
    first = httpx.get(f"{proxy.url}/v2/{repo}/tags/list")
    assert first.json()["tags"] == [f"t{i:03d}" for i in range(10)]
    assert first.headers["Link"] == f'</v2/{repo}/tags/list?n=10&last=t009>; rel="next"'


def test_fault_proxy(registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]) -> None:
    repo = unique_repo()
    registry.seed(repo, ["1"])
    proxy = fault_proxy(registry.url).inject(Fault("status", status=503), Fault("truncate"))
    assert httpx.get(f"{proxy.url}/v2/{repo}/tags/list").status_code == 503
    truncated = httpx.get(f"{proxy.url}/v2/{repo}/tags/list")
    assert truncated.status_code == 200 and not truncated.text.endswith("}")
    assert httpx.get(f"{proxy.url}/v2/{repo}/tags/list").json()["tags"] == ["1"]
    assert len(proxy.requests) == 3
