"""SSRF guard against DNS rebinding: the address a connection reaches is checked, not only DNS."""

from __future__ import annotations

import pytest

from bot.adapters.registry import RegistryClient
from bot.adapters.registry.guard import Guard
from bot.core.errors import UnsafeURLError
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard's own look-up says "public", as a rebinding name's first answer would."""

    async def public(self: Guard, hostname: str) -> bool:
        return True

    monkeypatch.setattr(Guard, "_public_host", public)


@pytest.mark.usefixtures("rebinding_dns")
async def test_connection_reaching_loopback_is_refused(registry: RegistryHandle) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    image = f"localhost:{registry.port}/{repo}"
    async with RegistryClient() as client:
        # without the peer check this would reach the loopback registry (and fail TLS later)
        with pytest.raises(
            UnsafeURLError, match=r"localhost:\d+: the connection reached 127\.0\.0\.1"
        ):
            await client.tags(image)
        with pytest.raises(UnsafeURLError, match=r"reached 127\.0\.0\.1"):
            await client.digest(f"{image}:a")


@pytest.mark.usefixtures("rebinding_dns")
async def test_named_insecure_host_may_reach_loopback(registry: RegistryHandle) -> None:
    repo = unique_repo()
    registry.seed(repo, ["a"])
    host = f"localhost:{registry.port}"
    async with RegistryClient(insecure=[host]) as client:
        assert await client.tags(f"{host}/{repo}") == ["a"]
    async with RegistryClient(insecure=["localhost"]) as client:  # bare host: any port
        assert await client.tags(f"{host}/{repo}") == ["a"]
