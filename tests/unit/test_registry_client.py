"""RegistryClient logic on httpx.MockTransport: token lifetimes, limits, redirects, fallbacks."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.adapters.registry import Credentials, MemoryTagCache, RegistryClient
from bot.adapters.registry.protocol import ACCEPT, OCI_MANIFEST
from bot.core.errors import AuthError, ConfigError, RegistryError, UnsafeURLError
from tests.support.clock import FakeClock

REG = "registry.example.com"
REALM = "https://auth.example.com/token"


def bearer_registry(
    tags: list[str], token_body: Callable[[int], dict[str, Any]], log: list[httpx.Request]
) -> httpx.MockTransport:
    issued = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal issued
        log.append(request)
        if request.url.host == "auth.example.com":
            issued += 1
            return httpx.Response(200, json=token_body(issued))
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer tok"):
            challenge = f'Bearer realm="{REALM}",service="reg"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        if request.url.path.endswith("/tags/list"):
            return httpx.Response(200, json={"name": "x", "tags": tags})
        return httpx.Response(404)

    return httpx.MockTransport(handler)


def client(transport: httpx.MockTransport, **kwargs: Any) -> RegistryClient:
    return RegistryClient(transport=transport, resolve_dns=False, **kwargs)


async def test_token_cached_until_expiry() -> None:
    log: list[httpx.Request] = []
    time = FakeClock()
    transport = bearer_registry(["1"], lambda n: {"token": f"tok{n}", "expires_in": 30}, log)
    async with client(transport, clock=time.clock, sleep=time.sleep, cache=None) as c:
        await c.all_tags(f"{REG}/a")
        await c.cache.put(f"{REG}/a", [])  # keep tags out of the way: only tokens matter here
        await c.all_tags(f"{REG}/b")
        assert c.stats.requests["token"] == 2  # one per scope
        time.now += 20  # < 30 - 3 s margin: still cached
        c.cache = type(c.cache)(60.0, time.clock)  # type: ignore[call-arg]
        await c.all_tags(f"{REG}/a")
        assert c.stats.requests["token"] == 2
        time.now += 10  # past expiry: a new token
        c.cache = type(c.cache)(60.0, time.clock)  # type: ignore[call-arg]
        await c.all_tags(f"{REG}/a")
        assert c.stats.requests["token"] == 3
    token_requests = [r for r in log if r.url.host == "auth.example.com"]
    assert token_requests[0].url.params["scope"] == "repository:a:pull"
    assert token_requests[0].url.params["service"] == "reg"
    assert "authorization" not in token_requests[0].headers  # anonymous


async def test_access_token_field_and_default_lifetime() -> None:
    log: list[httpx.Request] = []
    time = FakeClock()
    transport = bearer_registry(["1"], lambda n: {"access_token": f"tok{n}"}, log)
    async with client(transport, clock=time.clock) as c:
        assert await c.tags(f"{REG}/a") == ["1"]


async def test_docker_hub_normalisation_and_basic_to_token_realm() -> None:
    log: list[httpx.Request] = []
    transport = bearer_registry(["1.25"], lambda n: {"token": "tok"}, log)
    creds = Credentials.load(
        static={"https://index.docker.io/v1/": {"username": "me", "password": "pw"}}
    )
    async with client(transport, credentials=creds) as c:
        assert await c.tags("nginx") == ["1.25"]
    tags_req = [r for r in log if r.url.path.endswith("tags/list")][-1]
    assert str(tags_req.url).startswith("https://registry-1.docker.io/v2/library/nginx/tags/list")
    token_req = next(r for r in log if r.url.host == "auth.example.com")
    assert token_req.headers["authorization"].startswith("Basic ")
    # the registry host never sees Basic credentials
    assert all(
        "Basic" not in r.headers.get("authorization", "")
        for r in log
        if r.url.host != "auth.example.com"
    )


async def test_concurrency_limit_per_registry() -> None:
    inflight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.01)
        inflight -= 1
        return httpx.Response(200, json={"tags": ["t"]})

    async with client(httpx.MockTransport(handler), concurrency=3) as c:
        await asyncio.gather(*(c.tags(f"{REG}/r{i}") for i in range(12)))
        assert c.stats.requests["tags"] == 12
    assert peak == 3


async def test_rate_limit_paces_requests() -> None:
    time = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tags": ["t"]})

    async with client(
        httpx.MockTransport(handler), rate=2.0, clock=time.clock, sleep=time.sleep
    ) as c:
        start = time.now
        for i in range(7):
            await c.tags(f"{REG}/r{i}")
        # 1 ping + 7 tags = 8 requests at 2/s with a burst of 2: 3 s of waiting
        assert time.now - start == pytest.approx(3.0)


async def test_rate_per_registry_overrides_the_default() -> None:
    time = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tags": ["t"]})

    rates = {"Docker.io": 1.0, "other.example.com:5000": 4.0}
    async with client(
        httpx.MockTransport(handler), host_rates=rates, clock=time.clock, sleep=time.sleep
    ) as c:
        for i in range(5):  # no rate for REG: never waits
            await c.tags(f"{REG}/r{i}")
        assert time.slept == []
        for i in range(3):  # Docker Hub by any spelling: 1 ping + 3 tags at 1/s, burst 1
            await c.tags(f"docker.io/org/r{i}")
        assert sum(time.slept) == pytest.approx(3.0)
        waited = sum(time.slept)
        for i in range(7):  # 1 ping + 7 tags at 4/s, burst 4: 1 s
            await c.tags(f"other.example.com:5000/r{i}")
        assert sum(time.slept) - waited == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="rate must be positive"):
        RegistryClient(host_rates={"ghcr.io": 0})


def test_registry_rates_from_the_environment() -> None:
    from bot.app.cli.registry import registry_rates

    env = {"FLUXBOT_REGISTRY_RATES": "docker.io=5, ghcr.io=0.5,,127.0.0.1:5000=20"}
    assert registry_rates(env) == {"docker.io": 5.0, "ghcr.io": 0.5, "127.0.0.1:5000": 20.0}
    assert registry_rates({}) == {}
    for bad in ("docker.io", "docker.io=fast", "=3", "ghcr.io=0", "ghcr.io=-1", "a=inf"):
        with pytest.raises(ConfigError, match="FLUXBOT_REGISTRY_RATES"):
            registry_rates({"FLUXBOT_REGISTRY_RATES": bad})


async def test_same_host_redirect_drops_authorization_and_refuses_http() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v2/":
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        if request.url.path == "/v2/a/tags/list":
            return httpx.Response(307, headers={"Location": "/elsewhere/tags"})
        if request.url.path == "/v2/b/tags/list":
            return httpx.Response(302, headers={"Location": f"http://{REG}/plain"})
        return httpx.Response(200, json={"tags": ["x"]})

    creds = Credentials.load(static={REG: {"username": "u", "password": "p"}})
    async with client(httpx.MockTransport(handler), credentials=creds) as c:
        assert await c.tags(f"{REG}/a") == ["x"]
        with pytest.raises(UnsafeURLError, match="plain HTTP"):
            await c.tags(f"{REG}/b")
    first, follow = seen[1], seen[2]
    assert first.headers["authorization"].startswith("Basic ")
    assert follow.url.path == "/elsewhere/tags" and "authorization" not in follow.headers


async def test_digest_falls_back_to_hashing_when_head_has_no_header() -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}}).encode()
    methods: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200)
        methods.append(request.method)
        assert request.headers["accept"] == ACCEPT
        return httpx.Response(200, content=b"" if request.method == "HEAD" else body)

    async with client(httpx.MockTransport(handler)) as c:
        digest = await c.digest(f"{REG}/a:1")
    assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
    assert methods == ["HEAD", "GET"]


async def test_inspect_by_digest_verifies_content() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200)
        return httpx.Response(200, json={"schemaVersion": 2, "config": {}})

    async with client(httpx.MockTransport(handler)) as c:
        with pytest.raises(RegistryError, match="does not match its digest"):
            await c.inspect(f"{REG}/a@sha256:{'0' * 64}")


async def test_pagination_loop_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = f'<{request.url.path}?{request.url.query.decode()}>; rel="next"'
        return httpx.Response(200, json={"tags": ["a"]}, headers={"Link": link})

    async with client(httpx.MockTransport(handler)) as c:
        with pytest.raises(RegistryError, match="does not end"):
            await c.tags(f"{REG}/a")


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"expires_in": 60}'])
async def test_malformed_token_answer_names_registry_and_repository(body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(200, content=body)
        challenge = f'Bearer realm="{REALM}",service="reg"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    async with client(httpx.MockTransport(handler)) as c:
        with pytest.raises(AuthError, match=rf"{REG}.*team/app.*: (malformed|token answer)"):
            await c.tags(f"{REG}/team/app")


async def test_invalid_settings() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tags": ["a"]})

    with pytest.raises(ConfigError):
        RegistryClient(concurrency=0)
    with pytest.raises(ConfigError):
        RegistryClient(rate=0)


async def test_concurrent_callers_share_one_fetch_and_its_failure() -> None:
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.url.path == "/v2/":
            return httpx.Response(200)
        calls += 1
        await asyncio.sleep(0.01)
        return httpx.Response(403)

    async with client(httpx.MockTransport(handler)) as c:
        results = await asyncio.gather(
            *(c.tags(f"{REG}/a") for _ in range(5)), return_exceptions=True
        )
    assert calls == 1
    assert all(isinstance(r, RegistryError) and "HTTP 403" in str(r) for r in results)


async def test_one_tags_fetch_per_repository_whatever_the_spelling() -> None:
    time = FakeClock()
    paths: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        await asyncio.sleep(0.01)
        return httpx.Response(200, json={"tags": ["1.25", "1.25.sig", "latest"]})

    spellings = [
        "nginx",
        "nginx:1.25",
        "docker.io/nginx",
        "docker.io/library/nginx:1.24",
        "index.docker.io/library/nginx@sha256:" + "a" * 64,
        "registry-1.docker.io/library/nginx",
    ]
    cache = MemoryTagCache(ttl=300, clock=time.clock)
    async with client(httpx.MockTransport(handler), cache=cache) as c:
        first = await asyncio.gather(*(c.tags(s) for s in spellings))
        assert first == [["1.25", "1.25.sig", "latest"]] * len(spellings)
        assert paths.count("/v2/library/nginx/tags/list") == 1
        assert c.stats.requests["tags"] == 1
        time.now += 301  # the cache entry expires: the next scan asks again, once
        await asyncio.gather(*(c.tags(s) for s in spellings))
        assert paths.count("/v2/library/nginx/tags/list") == 2


async def test_token_refused_is_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(401, json={"details": "no"})
        return httpx.Response(401, headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})

    async with client(httpx.MockTransport(handler)) as c:
        with pytest.raises(AuthError, match="refused anonymous access"):
            await c.tags(f"{REG}/a")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed"), "TLS failed"),
        (httpx.DecodingError("bad gzip"), r"failed \(DecodingError\)"),
    ],
)
async def test_non_transient_transport_errors_are_not_retried(
    error: Exception, message: str
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise error

    time = FakeClock()
    async with client(httpx.MockTransport(handler), sleep=time.sleep) as c:
        with pytest.raises(RegistryError, match=message):
            await c.tags(f"{REG}/a")
        assert c.stats.retries == 0
    assert calls == 1 + 1  # the /v2/ ping (its failure is left to the real request) + one try
