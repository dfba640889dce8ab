"""Debian's ``docker-registry`` (Distribution 2.8) on 127.0.0.1, in three auth modes, and seeding.

    with start_registry(tmp_path, mode="token") as reg:
        digest = reg.seed("team/app", ["1.0.0", "1.1.0"])
        index = reg.seed_index("team/multi", "2.0.0")

``seed`` pushes one tiny OCI image per repository (blobs once) and then tags it many times with
concurrent manifest PUTs over httpx (``seed_on_disk`` writes tags into storage, for benchmarks).
Usable outside pytest (the benchmarks use it).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import httpx

from tests.support.registry_images import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    SeededIndex,
    layer_blob,
    run_coroutine,
    sha256,
)
from tests.support.registry_servers import TokenServer

__all__ = [
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Notify",
    "RegistryHandle",
    "SeededIndex",
    "registry_binary",
    "sha256",
    "start_registry",
]

REGISTRY_BIN = "/usr/bin/docker-registry"
USER = "fluxbot"
PASSWORD = "s3cret-pass"


def registry_binary() -> str | None:
    """Path of the registry binary, or None when it is not installed."""
    return shutil.which("docker-registry") or (
        REGISTRY_BIN if Path(REGISTRY_BIN).exists() else None
    )


@dataclass
class RegistryHandle:
    """A running registry: ``.host``, ``.url``, ``seed``, ``seed_index``, ``close``."""

    mode: str
    root: Path
    process: subprocess.Popen[bytes]
    port: int
    token_server: TokenServer | None = None
    username: str = USER
    password: str = PASSWORD
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.token_server is not None:
            self.token_server.close()

    def __enter__(self) -> RegistryHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ seeding

    def seed(
        self,
        repository: str,
        tags: Sequence[str],
        *,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        docker: bool = False,
        concurrency: int = 8,
    ) -> str:
        """Push a tiny image to ``repository`` and tag it with every tag; returns its digest.

        The registry's own CPU (3.5-4 ms a manifest PUT) bounds seeding; with 4-8 PUTs in
        flight this process spends ~1.4-1.8 ms CPU a tag against 2.2-2.6 ms with 16 (1,000 tags,
        2 shared cores). Wall time under load 4-15 was 5.6-9.4 s either way: noise dominates.
        """
        return run_coroutine(
            self._seed(repository, list(tags), labels, annotations, docker, concurrency)
        )

    def seed_on_disk(self, repository: str, tags: Sequence[str]) -> str:
        """Like :meth:`seed` for huge tag counts: one tag over the API, the rest written straight
        into the registry's storage (Distribution's filesystem layout). For benchmarks."""
        first, *rest = tags
        digest = self.seed(repository, [first])
        algo, _, hexdigest = digest.partition(":")
        base = self.root / "data/docker/registry/v2/repositories" / repository / "_manifests/tags"
        for tag in rest:
            current = base / tag / "current"
            index = base / tag / "index" / algo / hexdigest
            current.mkdir(parents=True, exist_ok=True)
            index.mkdir(parents=True, exist_ok=True)
            (current / "link").write_text(digest)
            (index / "link").write_text(digest)
        return digest

    def seed_index(
        self,
        repository: str,
        tag: str,
        *,
        platforms: Sequence[str] = ("linux/amd64", "linux/arm64/v8"),
        attestation: bool = True,
        annotations: Mapping[str, str] | None = None,
        manifest_annotations: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        docker: bool = False,
    ) -> SeededIndex:
        """Push a multi-platform index (plus a buildx-style attestation entry) under ``tag``."""
        return run_coroutine(
            self._seed_index(
                repository,
                tag,
                platforms,
                attestation,
                annotations,
                manifest_annotations,
                labels,
                docker,
            )
        )

    def _client(self, concurrency: int = 16) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx.AsyncClient(base_url=self.url, limits=limits, timeout=30)

    async def _auth(self, client: httpx.AsyncClient, repository: str) -> dict[str, str]:
        if self.mode == "none":
            return {}
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if self.mode == "htpasswd":
            return {"Authorization": f"Basic {basic}"}
        assert self.token_server is not None
        if repository not in self._tokens:
            resp = await client.get(
                f"{self.token_server.url}/token",
                params={
                    "service": self.token_server.service,
                    "scope": f"repository:{repository}:pull,push",
                },
                headers={"Authorization": f"Basic {basic}"},
            )
            resp.raise_for_status()
            self._tokens[repository] = resp.json()["token"]
        return {"Authorization": f"Bearer {self._tokens[repository]}"}

    async def _blob(self, client: httpx.AsyncClient, repository: str, data: bytes) -> str:
        digest = sha256(data)
        auth = await self._auth(client, repository)
        head = await client.head(f"/v2/{repository}/blobs/{digest}", headers=auth)
        if head.status_code == 200:
            return digest
        start = await client.post(f"/v2/{repository}/blobs/uploads/", headers=auth)
        if start.status_code != 202:
            raise RuntimeError(f"blob upload start: {start.status_code} {start.text}")
        location = start.headers["Location"]
        sep = "&" if "?" in location else "?"
        put = await client.put(
            f"{location}{sep}digest={digest}",
            content=data,
            headers={**auth, "Content-Type": "application/octet-stream"},
        )
        if put.status_code != 201:
            raise RuntimeError(f"blob upload: {put.status_code} {put.text}")
        return digest

    async def _image(
        self,
        client: httpx.AsyncClient,
        repository: str,
        labels: Mapping[str, str] | None,
        annotations: Mapping[str, str] | None,
        docker: bool,
        platform: str = "linux/amd64",
    ) -> tuple[bytes, str]:
        """Upload blobs for one image; returns the manifest bytes and its media type."""
        os_, arch, *variant = platform.split("/")
        layer, diff_id = layer_blob(f"fluxbot test image {platform}\n".encode())
        config: dict[str, Any] = {
            "architecture": arch,
            "os": os_,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "config": {"Labels": dict(labels or {})},
        }
        if variant:
            config["variant"] = variant[0]
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_digest = await self._blob(client, repository, config_bytes)
        layer_digest = await self._blob(client, repository, layer)
        media = DOCKER_MANIFEST if docker else OCI_MANIFEST
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media,
            "config": {
                "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                "digest": config_digest,
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        if annotations and not docker:
            manifest["annotations"] = dict(annotations)
        return json.dumps(manifest, sort_keys=True).encode(), media

    async def _put_manifest(
        self, client: httpx.AsyncClient, repository: str, ref: str, body: bytes, media: str
    ) -> None:
        auth = await self._auth(client, repository)
        for attempt in range(5):
            resp = await client.put(
                f"/v2/{repository}/manifests/{ref}",
                content=body,
                headers={**auth, "Content-Type": media},
            )
            if resp.status_code == 201:
                return
            if resp.status_code < 500 or attempt == 4:
                raise RuntimeError(f"manifest PUT {ref}: {resp.status_code} {resp.text}")
            await asyncio.sleep(0.05 * (attempt + 1))

    async def _seed(
        self,
        repository: str,
        tags: list[str],
        labels: Mapping[str, str] | None,
        annotations: Mapping[str, str] | None,
        docker: bool,
        concurrency: int,
    ) -> str:
        async with self._client(concurrency) as client:
            body, media = await self._image(client, repository, labels, annotations, docker)
            digest = sha256(body)
            await self._put_manifest(client, repository, digest, body, media)
            queue = list(tags)

            async def worker() -> None:
                while queue:
                    await self._put_manifest(client, repository, queue.pop(), body, media)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return digest

    async def _seed_index(
        self,
        repository: str,
        tag: str,
        platforms: Sequence[str],
        attestation: bool,
        annotations: Mapping[str, str] | None,
        manifest_annotations: Mapping[str, str] | None,
        labels: Mapping[str, str] | None,
        docker: bool,
    ) -> SeededIndex:
        async with self._client() as client:
            entries: list[dict[str, Any]] = []
            manifests: dict[str, str] = {}
            for platform in platforms:
                body, media = await self._image(
                    client, repository, labels, manifest_annotations, docker, platform
                )
                digest = sha256(body)
                await self._put_manifest(client, repository, digest, body, media)
                os_, arch, *variant = platform.split("/")
                plat: dict[str, str] = {"os": os_, "architecture": arch}
                if variant:
                    plat["variant"] = variant[0]
                entries.append(
                    {"mediaType": media, "digest": digest, "size": len(body), "platform": plat}
                )
                manifests[platform] = digest
            attestations: list[str] = []
            if attestation and not docker:
                body, media = await self._image(
                    client, repository, None, None, False, "unknown/unknown"
                )
                digest = sha256(body)
                await self._put_manifest(client, repository, digest, body, media)
                entries.append(
                    {
                        "mediaType": media,
                        "digest": digest,
                        "size": len(body),
                        "platform": {"os": "unknown", "architecture": "unknown"},
                        "annotations": {
                            "vnd.docker.reference.type": "attestation-manifest",
                            "vnd.docker.reference.digest": entries[0]["digest"],
                        },
                    }
                )
                attestations.append(digest)
            index_media = DOCKER_LIST if docker else OCI_INDEX
            index: dict[str, Any] = {
                "schemaVersion": 2,
                "mediaType": index_media,
                "manifests": entries,
            }
            if annotations and not docker:
                index["annotations"] = dict(annotations)
            body = json.dumps(index, sort_keys=True).encode()
            await self._put_manifest(client, repository, tag, body, index_media)
            return SeededIndex(sha256(body), manifests, tuple(attestations))


@dataclass(frozen=True)
class Notify:
    """A ``notifications.endpoints`` entry: the registry POSTs its events to ``url``."""

    url: str
    token: str  # sent as ``Authorization: Bearer <token>``
    ignored_media_types: tuple[str, ...] = ("application/octet-stream",)


def _notifications(notify: Notify) -> list[str]:
    lines = [
        "notifications:",
        "  endpoints:",
        "    - name: fluxbot",
        f"      url: {notify.url}",
        "      headers:",
        f"        Authorization: [Bearer {notify.token}]",
        "      timeout: 2s",
        "      threshold: 3",
        "      backoff: 200ms",
    ]
    if notify.ignored_media_types:
        lines.append("      ignoredmediatypes:")
        lines += [f"        - {media}" for media in notify.ignored_media_types]
    return lines


def _config(root: Path, mode: str, token: TokenServer | None, notify: Notify | None = None) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: info",
        "  formatter: text",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        "  addr: 127.0.0.1:0",
        "  secret: fluxbot-test-secret",
    ]
    if mode == "htpasswd":
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
        lines += ["auth:", "  htpasswd:", "    realm: fluxbot-test"]
        lines += [f"    path: {root / 'htpasswd'}"]
    elif mode == "token":
        assert token is not None
        (root / "token.crt").write_bytes(token.certificate_pem())
        lines += [
            "auth:",
            "  token:",
            f"    realm: {token.url}/token",
            f"    service: {token.service}",
            f"    issuer: {token.issuer}",
            f"    rootcertbundle: {root / 'token.crt'}",
        ]
    elif mode != "none":
        raise ValueError(f"unknown registry mode {mode!r}")
    if notify is not None:
        lines += _notifications(notify)
    return "\n".join(lines) + "\n"


def start_registry(
    tmp_path: Path,
    mode: str = "none",
    token_server: TokenServer | None = None,
    notify: Notify | None = None,
) -> RegistryHandle:
    """Start ``docker-registry serve`` on 127.0.0.1:<free port> in ``none|htpasswd|token`` mode;
    with ``notify``, it sends its notifications (real Distribution envelopes) there."""
    binary = registry_binary()
    if binary is None:
        raise FileNotFoundError("docker-registry is not installed (apt install docker-registry)")
    root = Path(tmp_path) / f"registry-{mode}-{time.monotonic_ns()}"
    root.mkdir(parents=True)
    token = None
    if mode == "token":
        token = (token_server or TokenServer()).start()
    (root / "config.yml").write_text(_config(root, mode, token, notify))
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen(
        [binary, "serve", str(root / "config.yml")],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    deadline = time.monotonic() + 15
    pattern = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
    while time.monotonic() < deadline:
        match = pattern.search((root / "registry.log").read_bytes())
        if match:
            handle = RegistryHandle(mode, root, proc, int(match.group(1)), token)
            atexit.register(handle.close)  # also when a session ends without its finalizers
            _wait_ready(handle)
            return handle
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait(5)
    if token is not None:
        token.close()
    raise RuntimeError(f"registry did not start: {(root / 'registry.log').read_text()[-2000:]}")


def _wait_ready(handle: RegistryHandle) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"{handle.url}/v2/", timeout=1).status_code
            if status in (200, 401):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError("registry did not answer /v2/")
