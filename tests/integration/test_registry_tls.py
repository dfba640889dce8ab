"""The registry client's TLS context: CAs loaded at the first handshake, verification intact.

A real TLS server on 127.0.0.1 (aiohttp) with a certificate from a throw-away CA.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.adapters.registry import RegistryClient
from bot.adapters.registry.tls import LazyTrustContext, verifying_context
from bot.adapters.registry.transport import _tls_context
from bot.core.errors import RegistryError, UnsafeURLError


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, signer: Any, ca: bool
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
async def tls_server(
    tmp_path: Path, aiohttp_server: Callable[..., Awaitable[Any]]
) -> tuple[str, Path]:
    """(base URL, CA file) of an HTTPS ``/v2/`` endpoint on 127.0.0.1."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("fluxbot test CA", ca_key, None, ca_key, ca=True)
    leaf = _cert("127.0.0.1", key, ca.subject, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")

    async def v2(request: web.Request) -> web.Response:
        return web.json_response({})

    async def tags(request: web.Request) -> web.Response:
        return web.json_response({"name": "team/app", "tags": ["1.0.0"]})

    app = web.Application()
    app.router.add_get("/v2/", v2)
    app.router.add_get("/v2/team/app/tags/list", tags)
    server = await aiohttp_server(app, host="127.0.0.1", ssl=server_ctx)
    return f"https://127.0.0.1:{server.port}", tmp_path / "ca.pem"


async def test_cas_load_at_first_handshake_and_verify(tls_server: tuple[str, Path]) -> None:
    url, ca_file = tls_server
    ctx = verifying_context({"SSL_CERT_FILE": str(ca_file)})
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0  # nothing loaded yet
    async with httpx.AsyncClient(verify=ctx) as client:
        assert (await client.get(f"{url}/v2/")).status_code == 200
    assert ctx.cert_store_stats()["x509_ca"] == 1  # our CA, loaded once by the handshake


async def test_untrusted_or_misnamed_certificates_fail(tls_server: tuple[str, Path]) -> None:
    url, ca_file = tls_server
    async with httpx.AsyncClient(verify=verifying_context({})) as client:  # certifi only
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{url}/v2/")
    ctx = verifying_context({"SSL_CERT_DIR": str(ca_file.parent), "SSL_CERT_FILE": ""})
    assert ctx.ca_locations == {"capath": str(ca_file.parent)}
    trusted = verifying_context({"SSL_CERT_FILE": str(ca_file)})
    async with httpx.AsyncClient(verify=trusted) as client:  # certificate names 127.0.0.1 only
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(url.replace("127.0.0.1", "localhost") + "/v2/")


async def test_registry_client_uses_the_lazy_context() -> None:
    async with RegistryClient():
        assert isinstance(_tls_context(), LazyTrustContext)


async def test_https_insecure_entry_reaches_a_private_tls_registry(
    tls_server: tuple[str, Path],
) -> None:
    """``--insecure-registry https://HOST:PORT``: loopback allowed, HTTPS and verification kept."""
    url, ca_file = tls_server
    host = url.removeprefix("https://")
    trusted = verifying_context({"SSL_CERT_FILE": str(ca_file)})
    async with RegistryClient(
        insecure=[f"https://{host}"], transport=httpx.AsyncHTTPTransport(verify=trusted)
    ) as client:
        assert await client.tags(f"{host}/team/app") == ["1.0.0"]
    async with RegistryClient(transport=httpx.AsyncHTTPTransport(verify=trusted)) as client:
        with pytest.raises(UnsafeURLError, match="loopback, private or link-local"):
            await client.tags(f"{host}/team/app")
    async with RegistryClient(insecure=[host]) as client:  # plain HTTP to a TLS server
        with pytest.raises(RegistryError):
            await client.tags(f"{host}/team/app")
    async with RegistryClient(insecure=[f"https://{host}"]) as client:  # CA not trusted
        with pytest.raises(RegistryError, match="TLS failed"):
            await client.tags(f"{host}/team/app")
