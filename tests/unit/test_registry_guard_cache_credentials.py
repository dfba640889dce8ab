"""SSRF guard, TTL tag caches and credential file parsing (no network, no subprocess)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bot.adapters.registry import MemoryTagCache, SQLiteTagCache
from bot.adapters.registry.credentials import Credentials, DockerConfig, registry_key
from bot.adapters.registry.guard import Guard, host_port, is_public_ip
from bot.core.errors import ConfigError, UnsafeURLError


@pytest.mark.parametrize(
    "url",
    [
        "http://ghcr.io/v2/",
        "https://127.0.0.1/v2/",
        "https://127.0.0.1:5000/v2/",
        "https://10.1.2.3/v2/",
        "https://192.168.0.10/token",
        "https://172.16.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:5000/v2/",
        "https://[fe80::1]/v2/",
        "https://[::ffff:10.0.0.1]/v2/",
        "https://localhost:5000/v2/",
        "https://0.0.0.0/v2/",
        "ftp://ghcr.io/",
        "https://user:pw@ghcr.io/v2/",
    ],
)
async def test_guard_refuses(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        await Guard(resolve=False).check(url)


async def test_guard_allows_public_https_and_named_insecure_hosts() -> None:
    guard = Guard(["127.0.0.1:5000", "registry.lan", " "], resolve=False)
    await guard.check("https://ghcr.io/v2/")
    await guard.check("https://8.8.8.8/v2/")
    await guard.check("http://127.0.0.1:5000/v2/")
    await guard.check("http://registry.lan:8080/v2/")  # bare host: any port
    with pytest.raises(UnsafeURLError, match=r"--insecure-registry 127\.0\.0\.1:5001"):
        await guard.check("http://127.0.0.1:5001/v2/")
    assert guard.scheme("127.0.0.1:5000") == "http"
    assert guard.scheme("ghcr.io") == "https"
    assert host_port("https://[::1]:5000/x") == "[::1]:5000"
    assert not is_public_ip("100.64.0.1")  # carrier-grade NAT
    assert is_public_ip("2606:4700::1111")


async def test_https_entries_allow_private_addresses_but_keep_tls() -> None:
    guard = Guard(["https://harbor.lan", "HTTPS://10.0.0.5:8443/", "http://plain.lan"])
    await guard.check("https://harbor.lan/v2/")  # named: no DNS look-up needed
    await guard.check("https://10.0.0.5:8443/v2/")
    await guard.check("http://plain.lan/v2/")  # http:// is the same as a bare host
    for url in ("http://harbor.lan/v2/", "http://10.0.0.5:8443/v2/"):
        with pytest.raises(UnsafeURLError, match="refusing plain HTTP"):
            await guard.check(url)
    with pytest.raises(UnsafeURLError, match=r"--insecure-registry https://10\.0\.0\.5:9000"):
        await guard.check("https://10.0.0.5:9000/v2/")  # another port: not named
    assert guard.scheme("harbor.lan") == guard.scheme("10.0.0.5:8443") == "https"
    assert guard.scheme("plain.lan") == "http"
    assert guard.may_be_private("harbor.lan:443") and not guard.may_be_private("ghcr.io")
    assert not guard.is_insecure("harbor.lan")


async def test_memory_cache_ttl() -> None:
    now = [0.0]
    cache = MemoryTagCache(ttl=10, clock=lambda: now[0])
    await cache.put("r/a", ["1"])
    assert await cache.get("r/a") == ["1"]
    now[0] = 10.0
    assert await cache.get("r/a") is None


async def test_sqlite_cache_ttl_and_persistence(tmp_path: Path) -> None:
    now = [100.0]
    cache = SQLiteTagCache(tmp_path / "t.db", ttl=5, clock=lambda: now[0])
    await cache.put("r/a", ["1", "2"])
    cache.close()
    again = SQLiteTagCache(tmp_path / "t.db", ttl=5, clock=lambda: now[0])
    assert await again.get("r/a") == ["1", "2"]
    now[0] = 105.0
    assert await again.get("r/a") is None
    with pytest.raises(ConfigError):
        SQLiteTagCache(tmp_path / "missing-dir" / "t.db")


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://index.docker.io/v1/", "registry-1.docker.io"),
        ("docker.io", "registry-1.docker.io"),
        ("GHCR.io", "ghcr.io"),
        ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
        ("quay.io/org", "quay.io"),
    ],
)
def test_registry_key(key: str, host: str) -> None:
    assert registry_key(key) == host


async def test_docker_config_entries() -> None:
    auth = base64.b64encode(b"user:pa:ss").decode()
    config = DockerConfig.from_json(
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": auth},
                "gcr.io": {"username": "oauth2accesstoken", "password": "ya29.token"},
                "ecr.example": {"identitytoken": "refresh"},
                "empty.example": {},
            },
            "credHelpers": {"europe-docker.pkg.dev": "gcloud"},
        },
        "test",
    )
    creds = Credentials([config])
    hub = await creds.lookup("registry-1.docker.io")
    assert hub is not None and (hub.username, hub.password) == ("user", "pa:ss")
    gcr = await creds.lookup("gcr.io")
    assert (
        gcr is not None
        and gcr.basic() == "Basic " + base64.b64encode(b"oauth2accesstoken:ya29.token").decode()
    )
    ecr = await creds.lookup("ecr.example")
    assert ecr is not None and ecr.identity_token == "refresh"
    assert await creds.lookup("empty.example") is None
    assert config.cred_helpers == {"europe-docker.pkg.dev": "gcloud"}


def test_bad_docker_configs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not base64"):
        DockerConfig.from_json({"auths": {"a": {"auth": "%%%"}}}, "x")
    with pytest.raises(ConfigError, match="user:password"):
        DockerConfig.from_json({"auths": {"a": {"auth": base64.b64encode(b"x").decode()}}}, "x")
    bad = tmp_path / "config.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match="not JSON"):
        DockerConfig.from_file(bad)


async def test_secret_forms(tmp_path: Path) -> None:
    inner = {"auths": {"ghcr.io": {"username": "u", "password": "p"}}}
    string_data = tmp_path / "s1.yaml"
    string_data.write_text(
        "kind: Secret\nstringData:\n  .dockerconfigjson: '" + json.dumps(inner) + "'\n"
    )
    legacy = tmp_path / "s2.json"
    legacy.write_text(
        json.dumps(
            {
                "kind": "Secret",
                "data": {
                    ".dockercfg": base64.b64encode(
                        json.dumps({"quay.io": {"username": "q", "password": "r"}}).encode()
                    ).decode()
                },
            }
        )
    )
    creds = Credentials.load(secrets=[string_data, legacy])
    ghcr = await creds.lookup("ghcr.io")
    quay = await creds.lookup("quay.io")
    assert ghcr is not None and ghcr.username == "u"
    assert quay is not None and quay.username == "q"
    empty = tmp_path / "s3.yaml"
    empty.write_text("kind: Secret\ndata: {}\n")
    with pytest.raises(ConfigError, match=r"no \.dockerconfigjson"):
        Credentials.load(secrets=[empty])


async def test_memory_cache_is_bounded() -> None:
    cache = MemoryTagCache(ttl=10, capacity=2)
    for key in ("r/a", "r/b", "r/c"):
        await cache.put(key, ["1"])
    assert len(cache) == 2 and await cache.get("r/a") is None and await cache.get("r/c") == ["1"]
