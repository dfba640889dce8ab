"""Loopback aiohttp servers for registry tests: token server, paginating proxy, fault proxy.

Each runs in its own thread with its own event loop, so it works from sync or async tests and from
session-scoped fixtures alike::

    proxy = PaginatingProxy(registry.url, link_style="relative", page_size=100).start()
    ...  # talk to proxy.url
    proxy.close()
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qs, urlencode

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

_HOP = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "content-encoding",
}


async def _make_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(auto_decompress=False)


class BackgroundServer:
    """An aiohttp application served on 127.0.0.1:<free port> from a daemon thread."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.session: aiohttp.ClientSession | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        raise NotImplementedError

    def start(self) -> Self:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(self.build_app(), access_log=None, handler_cancellation=True)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                self.port = runner.addresses[0][1]
                self.session = loop.run_until_complete(_make_session())
            except BaseException as exc:  # pragma: no cover - surfaced to the caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.session.close())
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10) or errors:
            raise RuntimeError(f"{type(self).__name__} did not start: {errors}")
        return self

    def close(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path_qs, dict(request.headers)))

    async def forward(
        self, upstream: str, request: web.Request, path_qs: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send the request on to ``upstream`` and return status, headers and body."""
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        body = await request.read()
        async with self.session.request(
            request.method,
            upstream + (path_qs or request.path_qs),
            headers=headers,
            data=body or None,
            allow_redirects=False,
        ) as resp:
            data = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP}
            return resp.status, out, data


# --------------------------------------------------------------------------- token server


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """libtrust key id: SHA-256 of the DER public key, 240 bits, base32 in 12 groups of 4."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


@dataclass
class TokenServer(BackgroundServer):
    """Docker token auth server (ES256 JWT) trusted by a Distribution registry via ``kid``."""

    users: dict[str, str] = field(default_factory=lambda: {"fluxbot": "s3cret-pass"})
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # identity token -> user
    service: str = "fluxbot-test-registry"
    issuer: str = "fluxbot-test-issuer"
    anonymous_pull: bool = True
    token_field: str = "token"  # "token", "access_token" or "both"
    expires_in: int | None = 300
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    scopes: list[tuple[str, str | None]] = field(default_factory=list)  # (scope, account)
    issued: list[str] = field(default_factory=list)  # every token handed out (leak canaries)

    def __post_init__(self) -> None:
        BackgroundServer.__init__(self)

    @property
    def kid(self) -> str:
        return libtrust_key_id(self.key.public_key())

    def certificate_pem(self) -> bytes:
        """A self-signed certificate for the signing key (the registry's rootcertbundle)."""
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import NameOID

        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, account: str | None, scopes: Iterable[str], authenticated: bool) -> str:
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            allowed = {"pull", "push", "*"} if authenticated else {"pull"}
            if not authenticated and not self.anonymous_pull:
                allowed = set()
            granted = [a for a in actions if a in allowed]
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": account or "",
            "aud": self.service,
            "exp": now + (self.expires_in or 60) + 60,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        token = jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})
        self.issued.append(token)
        return token

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/token", self._token)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        self.record(request)
        account: str | None = None
        authenticated = False
        query = {k: v for k, v in request.query.items()}
        scopes = request.query.getall("scope", [])
        if request.method == "POST":
            form = parse_qs((await request.read()).decode())
            query.update({k: v[0] for k, v in form.items()})
            scopes = [s for v in form.get("scope", []) for s in v.split(" ")]
            if form.get("grant_type") == ["refresh_token"]:
                user = self.refresh_tokens.get(query.get("refresh_token", ""))
                if user is None:
                    return web.json_response({"error": "bad refresh token"}, status=401)
                account, authenticated = user, True
            elif form.get("grant_type") == ["password"]:
                if self.users.get(query.get("username", "")) != query.get("password"):
                    return web.json_response({"error": "bad credentials"}, status=401)
                account, authenticated = query["username"], True
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != password:
                return web.json_response({"details": "incorrect username or password"}, status=401)
            account, authenticated = user, True
        if query.get("service") != self.service:
            return web.json_response({"details": "unknown service"}, status=400)
        scopes = [s for scope in scopes for s in scope.split(" ")]
        for scope in scopes or [""]:
            self.scopes.append((scope, account))
        token = self.issue(account, scopes, authenticated)
        body: dict[str, Any] = {}
        if self.token_field in ("token", "both"):
            body["token"] = token
        if self.token_field in ("access_token", "both"):
            body["access_token"] = token
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return web.json_response(body)


# --------------------------------------------------------------------------- paginating proxy


class PaginatingProxy(BackgroundServer):
    """Forwards to a registry, paginating ``tags/list`` by ``n``/``last`` with ``Link`` headers.

    ``link_style``: ``relative`` (``</v2/...>``), ``absolute`` (``<http://127.0.0.1:P/v2/...>``) or
    ``cross-origin`` (``<http://localhost:P/v2/...>``: same server, another origin).
    """

    def __init__(self, upstream: str, link_style: str = "relative", page_size: int = 100) -> None:
        super().__init__()
        self.upstream = upstream
        self.link_style = link_style
        self.page_size = page_size

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.record(request)
        path = request.path
        if not (path.startswith("/v2/") and path.endswith("/tags/list")):
            status, headers, body = await self.forward(self.upstream, request)
            return web.Response(status=status, headers=headers, body=body)
        status, headers, body = await self.forward(self.upstream, request, path)
        if status != 200:
            return web.Response(status=status, headers=headers, body=body)
        data = json.loads(body)
        tags = sorted(data.get("tags") or [])
        n = int(request.query.get("n", self.page_size))
        n = min(n, self.page_size)
        last = request.query.get("last")
        if last is not None:
            tags = [t for t in tags if t > last]
        page, rest = tags[:n], tags[n:]
        out = {k: v for k, v in headers.items() if k.lower() not in ("link", "content-type")}
        if rest and page:
            query = urlencode({"n": n, "last": page[-1]})
            target = f"{path}?{query}"
            if self.link_style == "absolute":
                target = f"{self.url}{target}"
            elif self.link_style == "cross-origin":
                target = f"http://localhost:{self.port}{target}"
            out["Link"] = f'<{target}>; rel="next"'
        return web.json_response({"name": data["name"], "tags": page}, headers=out)


# --------------------------------------------------------------------------- fault proxy


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next request whose path contains ``match``."""

    kind: str  # status | slow | truncate | redirect | oversize | ratelimit
    match: str = ""
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    target: str = ""  # redirect: base URL of the other host
    size: int = 0  # oversize: body bytes


class FaultProxy(BackgroundServer):
    """Forwards to a registry, but first serves the queued :class:`Fault` s, one per request."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.after: Callable[[web.Request, dict[str, str]], None] | None = None

    def inject(self, *faults: Fault) -> FaultProxy:
        self.faults.extend(faults)
        return self

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def _take(self, path: str) -> Fault | None:
        for i, fault in enumerate(self.faults):
            if fault.match in path:
                return self.faults.pop(i)
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.record(request)
        fault = self._take(request.path_qs)
        if fault is None or fault.kind in ("slow", "truncate", "ratelimit"):
            if fault is not None and fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            status, headers, body = await self.forward(self.upstream, request)
            if fault is not None and fault.kind == "truncate":
                body = body[: max(1, len(body) // 2)]
            if fault is not None and fault.kind == "ratelimit":
                headers.update(fault.headers)
            return web.Response(status=status, headers=headers, body=body)
        if fault.kind == "status":
            return web.Response(status=fault.status, headers=fault.headers, body=fault.body)
        if fault.kind == "redirect":
            location = fault.target + request.path_qs
            status = fault.status if 300 <= fault.status < 400 else 307
            return web.Response(status=status, headers={"Location": location})
        if fault.kind == "oversize":
            resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            await resp.prepare(request)
            chunk = b" " * 65536
            sent = 0
            try:
                while sent < fault.size:
                    await resp.write(chunk)
                    sent += len(chunk)
                await resp.write_eof()
            except (ConnectionResetError, aiohttp.ClientConnectionError):
                pass
            return resp
        raise AssertionError(f"unknown fault {fault.kind}")
