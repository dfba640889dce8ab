"""Shared registry fixtures (auto-loaded by ``tests/conftest.py``).

- ``registry`` (session): Distribution 2.8 on 127.0.0.1 without auth. ``.host``, ``.url``,
  ``.seed(repository, tags)``, ``.seed_index(repository, tag, ...)``.
- ``registry_htpasswd`` / ``registry_token`` (session): the same with bcrypt htpasswd / token auth
  (``.username``, ``.password``; token mode has ``.token_server``).
- ``start_registry(tmp_path, mode)``: for tests that need a registry of their own.
- ``paginating_proxy`` / ``fault_proxy`` (function): factories for loopback aiohttp proxies in front
  of a registry; closed at the end of the test.

Under ``CI=true`` a missing ``docker-registry`` binary fails the test instead of skipping it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.paths import IN_CI
from tests.support.registry_process import (
    RegistryHandle,
    registry_binary,
    start_registry,
)
from tests.support.registry_servers import FaultProxy, PaginatingProxy

__all__ = ["RegistryHandle", "start_registry", "unique_repo"]


def _require_binary() -> None:
    if registry_binary() is None:
        message = "docker-registry is not installed"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def unique_repo(prefix: str = "test") -> str:
    """A repository name no other test uses."""
    return f"{prefix}/r{uuid.uuid4().hex[:10]}"


def _session_registry(
    tmp_path_factory: pytest.TempPathFactory, mode: str
) -> Iterator[RegistryHandle]:
    _require_binary()
    handle = start_registry(tmp_path_factory.mktemp(f"registry-{mode}"), mode)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryHandle]:
    yield from _session_registry(tmp_path_factory, "none")


@pytest.fixture(scope="session")
def registry_htpasswd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryHandle]:
    yield from _session_registry(tmp_path_factory, "htpasswd")


@pytest.fixture(scope="session")
def registry_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryHandle]:
    yield from _session_registry(tmp_path_factory, "token")


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[Callable[[str], RegistryHandle]]:
    """Factory: ``own_registry("htpasswd")`` starts a private registry closed after the test."""
    _require_binary()
    started: list[RegistryHandle] = []

    def make(mode: str = "none") -> RegistryHandle:
        handle = start_registry(tmp_path, mode)
        started.append(handle)
        return handle

    yield make
    for handle in started:
        handle.close()


@pytest.fixture
def paginating_proxy() -> Iterator[Callable[..., PaginatingProxy]]:
    """Factory: ``paginating_proxy(registry.url, link_style="relative", page_size=100)``."""
    started: list[PaginatingProxy] = []

    def make(upstream: str, link_style: str = "relative", page_size: int = 100) -> PaginatingProxy:
        proxy = PaginatingProxy(upstream, link_style, page_size).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.close()


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str], FaultProxy]]:
    """Factory: ``fault_proxy(registry.url).inject(Fault("status", status=500), ...)``."""
    started: list[FaultProxy] = []

    def make(upstream: str) -> FaultProxy:
        proxy = FaultProxy(upstream).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.close()
