"""Pagination and misbehaving registries: loopback proxies in front of the real registry."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.adapters.registry import Credentials, Limits, RegistryClient, Retry
from bot.core.errors import AuthError, RateLimitError, RegistryError, UnsafeURLError
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle
from tests.support.registry_servers import Fault, FaultProxy, PaginatingProxy

TAGS = [f"1.{i // 10}.{i % 10}" for i in range(250)]


class Sleeps:
    """Injected sleep: records the delays asked for, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture(scope="module")
def paged_repo(registry: RegistryHandle) -> str:
    repo = unique_repo("paged")
    registry.seed(repo, TAGS)
    return repo


@pytest.mark.parametrize("style", ["relative", "absolute"])
async def test_pagination_follows_link(
    registry: RegistryHandle,
    paginating_proxy: Callable[..., PaginatingProxy],
    paged_repo: str,
    style: str,
) -> None:
    proxy = paginating_proxy(registry.url, link_style=style, page_size=100)
    seen: list[int] = []
    async with RegistryClient(insecure=[proxy.host]) as client:
        tags = await client.tags(f"{proxy.host}/{paged_repo}", progress=seen.append)
    assert tags == sorted(TAGS)
    assert client.stats.requests["tags"] == 3
    assert seen == [100, 200, 250]
    listed = [path for method, path, _ in proxy.requests if "tags/list" in path]
    assert listed[0] == f"/v2/{paged_repo}/tags/list?n=1000"
    ordered = sorted(TAGS)
    assert listed[1].endswith(f"last={ordered[99]}") and listed[2].endswith(f"last={ordered[199]}")


async def test_cross_origin_link_is_refused(
    registry: RegistryHandle, paginating_proxy: Callable[..., PaginatingProxy], paged_repo: str
) -> None:
    proxy = paginating_proxy(registry.url, link_style="cross-origin", page_size=100)
    async with RegistryClient(insecure=[proxy.host, "localhost"]) as client:
        with pytest.raises(RegistryError, match="leaves the registry"):
            await client.tags(f"{proxy.host}/{paged_repo}")
        assert client.stats.requests["tags"] == 1
        assert await client.cache.get(f"{proxy.host}/{paged_repo}") is None


async def test_failure_on_a_later_page_returns_nothing_partial(
    registry: RegistryHandle,
    paginating_proxy: Callable[..., PaginatingProxy],
    fault_proxy: Callable[[str], FaultProxy],
    paged_repo: str,
) -> None:
    pages = paginating_proxy(registry.url, page_size=100)
    faults = fault_proxy(pages.url).inject(*[Fault("status", match="last=", status=502)] * 3)
    sleeps = Sleeps()
    retry = Retry(attempts=2, base=0.01)
    async with RegistryClient(insecure=[faults.host], retry=retry, sleep=sleeps) as client:
        with pytest.raises(RegistryError, match=r"after 3 tries \(HTTP 502\)"):
            await client.tags(f"{faults.host}/{paged_repo}")
        assert client.stats.retries == 2
        # nothing cached: the next call starts again and, the faults spent, gets everything
        assert await client.tags(f"{faults.host}/{paged_repo}") == sorted(TAGS)


async def test_5xx_retried_with_bounded_backoff(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url).inject(
        Fault("status", match="tags/list", status=500),
        Fault("status", match="tags/list", status=503),
        Fault("status", match="tags/list", status=429),
    )
    sleeps = Sleeps()
    retry = Retry(attempts=4, base=0.1, cap=0.15)
    async with RegistryClient(
        insecure=[proxy.host], retry=retry, sleep=sleeps, jitter=lambda: 0.5
    ) as client:
        assert await client.tags(f"{proxy.host}/{repo}") == ["a"]
        assert client.stats.retries == 3
        assert client.stats.requests["tags"] == 4
    assert sleeps.delays == pytest.approx([0.075, 0.1125, 0.1125])  # equal jitter, capped at 0.15


async def test_retry_after_is_honoured(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url).inject(
        Fault("status", match="tags/list", status=429, headers={"Retry-After": "7"}),
        Fault("status", match="tags/list", status=503, headers={"Retry-After": "2"}),
    )
    sleeps = Sleeps()
    async with RegistryClient(insecure=[proxy.host], sleep=sleeps) as client:
        assert await client.tags(f"{proxy.host}/{repo}") == ["a"]
    assert sleeps.delays == [7.0, 2.0]


async def test_too_long_retry_after_and_exhausted_429(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url).inject(
        Fault("status", match="tags/list", status=429, headers={"Retry-After": "3600"}),
        *[Fault("status", match="tags/list", status=429)] * 3,
    )
    sleeps = Sleeps()
    retry = Retry(attempts=2, base=0.01)
    async with RegistryClient(insecure=[proxy.host], retry=retry, sleep=sleeps) as client:
        with pytest.raises(RateLimitError, match="3600 s"):
            await client.tags(f"{proxy.host}/{repo}")
        assert sleeps.delays == []
        with pytest.raises(RateLimitError, match="3 tries"):
            await client.tags(f"{proxy.host}/{repo}")
        assert len(sleeps.delays) == 2


async def test_docker_hub_ratelimit_remaining(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a", "b"])
    limited = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"}
    proxy = fault_proxy(registry.url).inject(
        Fault("ratelimit", match="manifests/a", headers=limited),
        Fault("status", match="manifests/b", status=429, headers=limited),
    )
    sleeps = Sleeps()
    async with RegistryClient(insecure=[proxy.host], sleep=sleeps) as client:
        image = f"{proxy.host}/{repo}"
        assert await client.digest(f"{image}:a")  # HEAD is not a pull: allowed
        with pytest.raises(RateLimitError, match="0 pulls left"):
            await client.inspect(f"{image}:a")  # GET would count: stopped before sending
        assert client.stats.requests["manifest"] == 1
        with pytest.raises(RateLimitError, match="exhausted"):
            await client.digest(f"{image}:b")  # 429 with 0 remaining: no pointless retries
        assert sleeps.delays == []


async def test_slow_response_times_out_and_is_retried(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url).inject(Fault("slow", match="tags/list", delay=4.0))
    sleeps = Sleeps()
    async with RegistryClient(insecure=[proxy.host], sleep=sleeps, timeout=1.5) as client:
        assert await client.tags(f"{proxy.host}/{repo}") == ["a"]
        assert client.stats.retries >= 1  # the slow answer timed out and was asked again
        assert client.stats.requests["tags"] == client.stats.retries + 1


async def test_truncated_json_is_a_clear_error(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a", "b", "c"])
    proxy = fault_proxy(registry.url).inject(Fault("truncate", match="tags/list"))
    async with RegistryClient(insecure=[proxy.host]) as client:
        with pytest.raises(RegistryError, match=rf"{proxy.host}: tags of .*{repo}: malformed JSON"):
            await client.tags(f"{proxy.host}/{repo}")
        assert client.stats.retries == 0


async def test_malformed_manifest_and_blob_name_registry_and_repository(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url).inject(
        Fault("truncate", match="manifests/a"), Fault("truncate", match="/blobs/")
    )
    async with RegistryClient(insecure=[proxy.host]) as client:
        image = f"{proxy.host}/{repo}:a"
        with pytest.raises(
            RegistryError, match=rf"^{proxy.host}: manifest of .*{repo}:a: malformed"
        ):
            await client.inspect(image)
        with pytest.raises(RegistryError, match=rf"^{proxy.host}: config blob of .*{repo}:a: "):
            await client.inspect(image)  # manifest fine now; its config blob is cut short
        assert (await client.inspect(image)).digest.startswith("sha256:")  # faults used up
        assert client.stats.retries == 0


async def test_oversized_body_is_refused(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url).inject(
        Fault("oversize", match="tags/list", size=4 << 20),
        Fault("oversize", match="manifests/", size=8 << 20),
    )
    limits = Limits(tags_page=1 << 20, manifest=1 << 20)
    async with RegistryClient(insecure=[proxy.host], limits=limits) as client:
        with pytest.raises(RegistryError, match="larger than 1048576 bytes"):
            await client.tags(f"{proxy.host}/{repo}")
        with pytest.raises(RegistryError, match="larger than"):
            await client.inspect(f"{proxy.host}/{repo}:a")


async def test_redirect_to_another_host_drops_authorization(
    registry_htpasswd: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    reg.seed(repo, ["a"])
    other = fault_proxy(reg.url)
    proxy = fault_proxy(reg.url).inject(Fault("redirect", match="tags/list", target=other.url))
    creds = Credentials.load(
        static={proxy.host: {"username": reg.username, "password": reg.password}}
    )
    async with RegistryClient(insecure=[proxy.host, other.host], credentials=creds) as client:
        with pytest.raises(AuthError):
            await client.tags(f"{proxy.host}/{repo}")
        assert client.stats.redirects == 1
    sent = [h for _, path, h in proxy.requests if "tags/list" in path]
    assert sent and sent[0]["Authorization"].startswith("Basic ")
    received = [h for _, path, h in other.requests if "tags/list" in path]
    assert received and all("Authorization" not in h for h in received)


async def test_redirect_to_link_local_is_refused(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url).inject(
        Fault("redirect", match="tags/list", target="http://169.254.169.254")
    )
    async with RegistryClient(insecure=[proxy.host]) as client:
        with pytest.raises(UnsafeURLError, match=r"169\.254\.169\.254"):
            await client.tags(f"{proxy.host}/{repo}")


async def test_environment_http_proxy_is_used(
    registry: RegistryHandle,
    fault_proxy: Callable[[str], FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    proxy = fault_proxy(registry.url)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with RegistryClient(insecure=[registry.host]) as client:
        assert await client.tags(f"{registry.host}/{repo}") == ["a"]
    assert any("tags/list" in path for _, path, _ in proxy.requests)
