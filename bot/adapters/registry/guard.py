"""SSRF guard: which URLs the registry client may be sent to.

By default only ``https`` to public addresses. Hosts named as insecure (``--insecure-registry``,
``FLUXBOT_INSECURE_REGISTRIES``; the entry point passes them in) may use plain HTTP and loopback,
private or link-local addresses; named as ``https://HOST[:PORT]`` they may use private addresses
but keep verified HTTPS (an on-premises Harbor). Applies to registry URLs, token realms and
redirects alike::

    guard = Guard(["127.0.0.1:5000"])
    await guard.check("http://127.0.0.1:5000/v2/")   # ok
    await guard.check("http://10.0.0.1/token")       # UnsafeURLError

:meth:`Guard.check` resolves a host name, but httpx resolves it again to connect: a name whose
DNS answer changes in between (DNS rebinding) would slip through. :func:`pin_connections`
therefore also checks the address every new connection actually reached.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from bot.core.errors import UnsafeURLError

__all__ = ["Guard", "PeerCheckingBackend", "host_port", "is_public_ip", "pin_connections"]


def host_port(url: str) -> str:
    """``host[:port]`` of a URL, lower-cased, port only when explicit."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def is_public_ip(address: str) -> bool:
    """True for a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


class Guard:
    """Checks URLs against the insecure allow-list; resolves host names to catch private DNS."""

    def __init__(self, insecure: Iterable[str] = (), resolve: bool = True) -> None:
        entries = [h.strip().lower().rstrip("/") for h in insecure if h.strip()]
        #: hosts allowed plain HTTP and private addresses (``HOST[:PORT]`` or ``http://HOST``)
        self.insecure = frozenset(e.removeprefix("http://") for e in entries if "https://" not in e)
        #: hosts allowed private addresses over verified HTTPS (``https://HOST[:PORT]``)
        self.private_tls = frozenset(e[len("https://") :] for e in entries if "https://" in e)
        self._resolve = resolve
        self._public: dict[str, bool] = {}

    @staticmethod
    def _named(host: str, names: frozenset[str]) -> bool:
        host = host.lower()
        bare = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return host in names or bare in names

    def is_insecure(self, host: str) -> bool:
        """True if ``host[:port]`` (or the bare host, for any port) is allowed to be insecure."""
        return self._named(host, self.insecure)

    def may_be_private(self, host: str) -> bool:
        """True if ``host[:port]`` may resolve to a loopback, private or link-local address."""
        return self.is_insecure(host) or self._named(host, self.private_tls)

    def scheme(self, host: str) -> str:
        """URL scheme for a registry host: plain HTTP only for insecure hosts."""
        return "http" if self.is_insecure(host) else "https"

    async def check(self, url: str) -> None:
        """Raise :class:`UnsafeURLError` unless ``url`` may be requested."""
        parts = urlsplit(url)
        host = host_port(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnsafeURLError(f"refusing URL with scheme {parts.scheme!r}: {host}")
        if parts.username or parts.password:
            raise UnsafeURLError(f"refusing URL with credentials in it: {host}")
        if self.is_insecure(host):
            return
        if parts.scheme != "https":
            raise UnsafeURLError(
                f"refusing plain HTTP to {host} (allow it with --insecure-registry {host})"
            )
        if self._named(host, self.private_tls):
            return
        if not await self._public_host(parts.hostname):
            raise UnsafeURLError(
                f"refusing {host}: it resolves to a loopback, private or link-local address "
                f"(allow it with --insecure-registry https://{host}, or {host} for plain HTTP)"
            )

    async def _public_host(self, hostname: str) -> bool:
        hostname = hostname.lower()
        try:
            return is_public_ip(hostname)
        except ValueError:
            pass
        if hostname == "localhost" or hostname.endswith(".localhost"):
            return False
        if not self._resolve:
            return True
        if hostname not in self._public:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(hostname, None, type=socket.SOCK_STREAM)
            except OSError:
                return True  # unresolvable: the request itself will fail with a clear error
            self._public[hostname] = bool(infos) and all(
                is_public_ip(str(info[4][0])) for info in infos
            )
        return self._public[hostname]


class PeerCheckingBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend refusing a connection whose peer address the guard forbids.

    Wraps the backend httpcore would use; each TCP connection, once made, is checked: unless
    its ``host:port`` is named insecure, the address connected to must be public.
    """

    def __init__(self, guard: Guard, inner: httpcore.AsyncNetworkBackend) -> None:
        self._guard = guard
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        name = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if self._guard.may_be_private(name):
            return stream
        peer = stream.get_extra_info("server_addr")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "an unknown address"
        try:
            public = is_public_ip(address)
        except ValueError:
            public = False
        if not public:
            await stream.aclose()
            raise UnsafeURLError(
                f"refusing {name}: the connection reached {address}, a loopback, private or "
                f"link-local address (allow it with --insecure-registry https://{name})"
            )
        return stream

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURLError("refusing a Unix socket connection")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pin_connections(client: httpx.AsyncClient, guard: Guard) -> None:
    """Check the peer of every direct connection ``client`` makes (not those via a proxy).

    httpx has no public hook for this: the default transport's connection pool gets a
    :class:`PeerCheckingBackend` around its own backend. Fails closed if httpx changes shape.
    """
    default = client._transport
    pool = getattr(default, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if type(pool) is not httpcore.AsyncConnectionPool or inner is None:
        raise UnsafeURLError("cannot check connection addresses with this httpx/httpcore version")
    pool._network_backend = PeerCheckingBackend(guard, inner)
