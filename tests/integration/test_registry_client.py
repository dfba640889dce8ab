"""RegistryClient against the real Distribution 2.8 registry in its three auth modes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.adapters.registry import Credentials, RegistryClient, SQLiteTagCache
from bot.adapters.registry.protocol import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    SOURCE,
)
from bot.core.errors import AuthError, RegistryError, UnsafeURLError
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle


def creds(reg: RegistryHandle) -> Credentials:
    return Credentials.load(static={reg.host: {"username": reg.username, "password": reg.password}})


async def test_tags_digest_inspect_no_auth(registry: RegistryHandle) -> None:
    repo = unique_repo()
    digest = registry.seed(repo, ["1.0.0", "1.1.0", "sha256-abc.sig", "latest"])
    async with RegistryClient(insecure=[registry.host]) as client:
        image = f"{registry.host}/{repo}"
        every = ["1.0.0", "1.1.0", "latest", "sha256-abc.sig"]
        assert sorted(await client.tags(image)) == every  # exclusions are the policy's
        assert sorted(await client.tags(image)) == every
        assert sorted(await client.tags(image)) == every
        assert await client.digest(f"{image}:1.1.0") == digest
        info = await client.inspect(f"{image}:1.0.0")
        assert info.digest == digest
        assert info.media_type == OCI_MANIFEST
        assert info.platforms == ()
        # one tags/list for three tags() calls: the rest came from the cache
        assert client.stats.requests["tags"] == 1
        assert client.stats.cache_hits == 2
        assert client.stats.requests["token"] == 0


async def test_docker_v2_media_type_and_missing_tag(registry: RegistryHandle) -> None:
    repo = unique_repo()
    digest = registry.seed(repo, ["v2"], docker=True)
    async with RegistryClient(insecure=[registry.host]) as client:
        info = await client.inspect(f"{registry.host}/{repo}:v2")
        assert (info.digest, info.media_type) == (digest, DOCKER_MANIFEST)
        with pytest.raises(RegistryError, match="not found"):
            await client.digest(f"{registry.host}/{repo}:nope")
        with pytest.raises(RegistryError, match="not found"):
            await client.tags(f"{registry.host}/{unique_repo()}")


async def test_index_platforms_ignore_attestations_and_annotations(
    registry: RegistryHandle,
) -> None:
    repo = unique_repo()
    seeded = registry.seed_index(
        repo,
        "2.0.0",
        annotations={SOURCE: "https://github.com/example/app"},
        manifest_annotations={"org.opencontainers.image.revision": "abc123"},
        labels={"org.opencontainers.image.version": "2.0.0", SOURCE: "https://wrong.example"},
    )
    async with RegistryClient(insecure=[registry.host]) as client:
        info = await client.inspect(f"{registry.host}/{repo}:2.0.0")
        assert info.digest == seeded.digest
        assert info.media_type == OCI_INDEX
        assert [str(p) for p in info.platforms] == ["linux/amd64", "linux/arm64/v8"]
        assert {p.digest for p in info.platforms} == set(seeded.manifests.values())
        assert seeded.attestations and seeded.attestations[0] not in {
            p.digest for p in info.platforms
        }
        # index → manifest → config labels, first found wins
        assert info.source == "https://github.com/example/app"
        assert info.revision == "abc123"
        assert info.version == "2.0.0"
        assert client.stats.requests["manifest"] == 2
        assert client.stats.requests["blob"] == 1
        by_digest = await client.inspect(f"{registry.host}/{repo}@{seeded.digest}")
        assert by_digest.digest == seeded.digest
        assert await client.digest(f"{registry.host}/{repo}:2.0.0") == seeded.digest


async def test_docker_manifest_list(registry: RegistryHandle) -> None:
    repo = unique_repo()
    seeded = registry.seed_index(repo, "1", docker=True, platforms=["linux/amd64", "linux/s390x"])
    async with RegistryClient(insecure=[registry.host]) as client:
        info = await client.inspect(f"{registry.host}/{repo}:1")
        assert info.media_type == DOCKER_LIST
        assert info.digest == seeded.digest
        assert [str(p) for p in info.platforms] == ["linux/amd64", "linux/s390x"]


async def test_plain_http_refused_without_insecure(registry: RegistryHandle) -> None:
    async with RegistryClient() as client:
        with pytest.raises(UnsafeURLError, match=r"loopback|plain HTTP"):
            await client.tags(f"{registry.host}/any/thing")
        assert client.stats.total == 0


async def test_htpasswd_basic_auth(registry_htpasswd: RegistryHandle) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    digest = reg.seed(repo, ["a", "b"])
    async with RegistryClient(insecure=[reg.host], credentials=creds(reg)) as client:
        assert sorted(await client.tags(f"{reg.host}/{repo}")) == ["a", "b"]
        assert await client.digest(f"{reg.host}/{repo}:a") == digest
        # the /v2/ ping learns the Basic challenge; every request sends Basic up front
        assert client.stats.requests["tags"] == 1
        assert client.stats.requests["manifest"] == 1
    async with RegistryClient(insecure=[reg.host]) as anonymous:
        with pytest.raises(AuthError, match="requires credentials"):
            await anonymous.tags(f"{reg.host}/{repo}")
    wrong = Credentials.load(static={reg.host: {"username": "fluxbot", "password": "nope"}})
    async with RegistryClient(insecure=[reg.host], credentials=wrong) as client:
        with pytest.raises(AuthError):
            await client.tags(f"{reg.host}/{repo}")


async def test_token_auth_anonymous_and_credentials(registry_token: RegistryHandle) -> None:
    reg = registry_token
    server = reg.token_server
    assert server is not None
    repos = [unique_repo() for _ in range(3)]
    for repo in repos:
        reg.seed(repo, ["1", "2"])
    before = len(server.scopes)
    async with RegistryClient(insecure=[reg.host, server.host]) as client:
        results = await asyncio.gather(
            *(client.tags(f"{reg.host}/{r}") for r in repos for _ in range(3))
        )
        assert all(sorted(r) == ["1", "2"] for r in results)
        assert await client.digest(f"{reg.host}/{repos[0]}:1")
        # one token per repository scope, one tags chain per repository
        assert client.stats.requests["token"] == 3
        assert client.stats.requests["tags"] == 3
        assert client.stats.requests["ping"] == 1  # GET /v2/ once per host, learns the challenge
        granted = [s for s, _ in server.scopes[before:]]
        assert sorted(granted) == sorted(f"repository:{r}:pull" for r in repos)
    async with RegistryClient(insecure=[reg.host, server.host], credentials=creds(reg)) as client:
        assert sorted(await client.tags(f"{reg.host}/{repos[1]}")) == ["1", "2"]
        assert server.scopes[-1] == (f"repository:{repos[1]}:pull", "fluxbot")


async def test_token_realm_must_pass_the_guard(registry_token: RegistryHandle) -> None:
    reg = registry_token
    # the registry is allowed, its token realm (another loopback port) is not
    async with RegistryClient(insecure=[reg.host]) as client:
        with pytest.raises(UnsafeURLError):
            await client.tags(f"{reg.host}/{unique_repo()}")
        assert client.stats.requests["token"] == 0


async def test_sqlite_cache_survives_restart(registry: RegistryHandle, tmp_path: Path) -> None:
    repo = unique_repo()
    registry.seed(repo, ["1"])
    image = f"{registry.host}/{repo}"
    async with RegistryClient(
        insecure=[registry.host], cache=SQLiteTagCache(tmp_path / "c.db")
    ) as client:
        assert await client.tags(image) == ["1"]
    registry.seed(repo, ["2"])
    async with RegistryClient(
        insecure=[registry.host], cache=SQLiteTagCache(tmp_path / "c.db")
    ) as client:
        assert await client.tags(image) == ["1"]  # served from the file
        assert client.stats.requests["tags"] == 0
