"""``RegistryClient``: tags, digests and image metadata over the OCI distribution API.

    async with RegistryClient(insecure=["127.0.0.1:5000"]) as client:
        tags = await client.tags("127.0.0.1:5000/app")          # every tag (exclusions: policy)
        info = await client.inspect("127.0.0.1:5000/app:1.2.3")
        digest = await client.digest("127.0.0.1:5000/app:1.2.3")
        client.stats.requests["tags"], client.stats.retries

Tags are fetched once per repository per cache lifetime, however many callers ask at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from bot.adapters.registry import protocol
from bot.adapters.registry.cache import MemoryTagCache, TagCache
from bot.adapters.registry.credentials import Credentials
from bot.adapters.registry.guard import Guard
from bot.adapters.registry.protocol import Platform, ProtocolError
from bot.adapters.registry.transport import Response, Retry, Stats, Transport
from bot.core.errors import AuthError, ConfigError, RegistryError
from bot.core.reference import DOCKER_HUB_API, Reference, is_docker_hub, parse

__all__ = ["ImageInfo", "Limits", "RegistryClient"]


@dataclass(frozen=True)
class Limits:
    """Response size caps in bytes."""

    manifest: int = 4 << 20
    tags_page: int = 16 << 20
    max_pages: int = 10_000


@dataclass(frozen=True)
class ImageInfo:
    """What ``inspect`` learns about one image reference."""

    reference: str
    digest: str
    media_type: str
    platforms: tuple[Platform, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str | None:
        return self.annotations.get(protocol.SOURCE)

    @property
    def revision(self) -> str | None:
        return self.annotations.get(protocol.REVISION)

    @property
    def version(self) -> str | None:
        return self.annotations.get(protocol.VERSION)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "media_type": self.media_type,
            "platforms": [
                {"platform": str(p), "digest": p.digest, "media_type": p.media_type}
                for p in self.platforms
            ],
            "annotations": dict(self.annotations),
        }


class RegistryClient:
    """Async OCI registry client; see the module docstring. Use as ``async with``."""

    def __init__(
        self,
        insecure: Iterable[str] = (),
        credentials: Credentials | None = None,
        cache: TagCache | None = None,
        concurrency: int = 8,
        rate: float | None = None,
        *,
        retry: Retry | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: Limits | None = None,
        page_size: int = 1000,
        min_ratelimit_remaining: int = 0,
        resolve_dns: bool = True,
        host_rates: Mapping[str, float] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError("registry concurrency must be at least 1")
        rates = {_rate_key(h): r for h, r in (host_rates or {}).items()}
        if any(r is not None and r <= 0 for r in (rate, *rates.values())):
            raise ConfigError("registry rate must be positive")
        self.guard = Guard(insecure, resolve=resolve_dns)
        self.cache: TagCache = cache if cache is not None else MemoryTagCache(60.0, clock)
        self.limits = limits or Limits()
        self.page_size = page_size
        self._http = Transport(
            self.guard,
            credentials,
            concurrency=concurrency,
            rate=rate,
            host_rates=rates,
            retry=retry or Retry(),
            sleep=sleep,
            clock=clock,
            jitter=jitter,
            timeout=timeout,
            http_transport=transport,
            min_ratelimit_remaining=min_ratelimit_remaining,
        )
        self._inflight: dict[str, asyncio.Future[list[str]]] = {}

    @property
    def stats(self) -> Stats:
        return self._http.stats

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _url(self, ref: Reference, path: str) -> str:
        host = ref.api_host
        return f"{self.guard.scheme(host)}://{host}/v2/{ref.api_repository}/{path}"

    # ------------------------------------------------------------------ tags

    async def tags(self, image: str, *, progress: Callable[[int], None] | None = None) -> list[str]:
        """Every tag of the image's repository, unfiltered: an ``exclusionList`` is the policy
        layer's (:func:`bot.core.policy.exclude_tags`)."""
        return await self.all_tags(image, progress=progress)

    async def all_tags(
        self, image: str, *, progress: Callable[[int], None] | None = None
    ) -> list[str]:
        """Every tag, no exclusions; cached and de-duplicated across concurrent callers."""
        ref = parse(image)
        key = f"{ref.api_host}/{ref.api_repository}"
        running = self._inflight.get(key)
        if running is None:
            cached = await self.cache.get(key)
            if cached is not None:
                self.stats.cache_hits += 1
                return cached
            running = self._inflight.get(key)  # another caller started while the cache answered
        if running is not None:
            self.stats.cache_hits += 1
            return list(await asyncio.shield(running))
        future: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            tags = await self._fetch_tags(ref, progress)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            raise
        finally:
            current = self._inflight.get(key)
            if current is future:
                self._inflight.pop(key, None)
        future.set_result(tags)
        if current is future:  # not invalidated while in flight: the list may be cached
            await self.cache.put(key, tags)
        return list(tags)

    async def invalidate(self, key: str) -> None:
        """Forget the cached tags of ``key`` (``api_host/api_repository``): a push was announced.
        A fetch already in flight still answers its callers but is not cached, and later callers
        fetch again."""
        self._inflight.pop(key, None)
        await self.cache.invalidate(key)

    async def _fetch_tags(
        self, ref: Reference, progress: Callable[[int], None] | None
    ) -> list[str]:
        what = f"tags of {ref.name}"
        url: str | None = self._url(ref, f"tags/list?n={self.page_size}")
        scope = f"repository:{ref.api_repository}:pull"
        seen: set[str] = set()
        tags: list[str] = []
        while url is not None:
            if url in seen or len(seen) >= self.limits.max_pages:
                raise RegistryError(f"{ref.api_host}: pagination of {what} does not end")
            seen.add(url)
            resp = await self._http.request(
                "GET",
                url,
                kind="tags",
                host=ref.api_host,
                what=what,
                max_bytes=self.limits.tags_page,
                scope=scope,
                headers={"Accept": "application/json"},
            )
            self._expect_ok(resp, ref, what)
            try:
                tags.extend(protocol.parse_tags_page(resp.body))
                url = protocol.next_link(resp.headers.get_list("link"), resp.url)
            except ProtocolError as exc:
                raise RegistryError(f"{ref.api_host}: {what}: {exc}") from None
            if progress is not None:
                progress(len(tags))
        return list(dict.fromkeys(tags))

    def _expect_ok(self, resp: Response, ref: Reference, what: str) -> None:
        if resp.status == 200:
            return
        if resp.status == 404:
            raise RegistryError(f"{ref.api_host}: {what}: not found (HTTP 404)")
        if resp.status == 403:
            raise AuthError(f"{ref.api_host}: {what}: access denied (HTTP 403)")
        raise RegistryError(f"{ref.api_host}: {what}: HTTP {resp.status}")

    # ------------------------------------------------------------------ manifests

    async def _manifest(self, ref: Reference, reference: str, method: str, what: str) -> Response:
        resp = await self._manifest_request(ref, method, f"manifests/{reference}", what)
        self._expect_ok(resp, ref, what)
        return resp

    async def _manifest_request(
        self, ref: Reference, method: str, path: str, what: str, accept: str = protocol.ACCEPT
    ) -> Response:
        """One manifest-kind request; a GET counts against the pull budget (Docker Hub's)."""
        if method == "GET":
            self._http.check_pull_budget(ref.api_host, what)
        return await self._http.request(
            method,
            self._url(ref, path),
            kind="manifest",
            host=ref.api_host,
            what=what,
            max_bytes=self.limits.manifest,
            scope=f"repository:{ref.api_repository}:pull",
            headers={"Accept": accept},
        )

    async def digest(self, image: str) -> str:
        """Content digest of the tag (or pinned digest) by HEAD, with every manifest type."""
        ref = parse(image)
        what = f"manifest of {ref}"
        resp = await self._manifest(ref, ref.reference, "HEAD", what)
        digest: str | None = resp.headers.get("docker-content-digest")
        if not digest:  # some registries omit it on HEAD: fall back to hashing the body
            resp = await self._manifest(ref, ref.reference, "GET", what)
            digest = resp.headers.get("docker-content-digest") or _sha256(resp.body)
        return digest

    async def source(self, image: str) -> str | None:
        """The image's OCI source annotation (the PR body links to it), if any."""
        return (await self.inspect(image)).source or None

    async def inspect(self, image: str) -> ImageInfo:
        """Digest, media type, platforms (attestations ignored) and source annotations."""
        ref = parse(image)
        what = f"manifest of {ref}"
        resp = await self._manifest(ref, ref.reference, "GET", what)
        digest = _sha256(resp.body)
        if ref.digest and ref.digest.startswith("sha256:") and ref.digest != digest:
            raise RegistryError(f"{ref.api_host}: {what}: content does not match its digest")
        doc = self._decode(
            ref, what, lambda: protocol.parse_manifest(resp.body, resp.headers.get("content-type"))
        )
        sources: list[Mapping[str, str]] = [doc.annotations]
        child = doc
        if doc.is_index and not _complete(sources):
            chosen = protocol.pick_platform(doc.platforms)
            if chosen is not None:
                sub = await self._manifest(ref, chosen.digest, "GET", f"manifest {chosen}")
                child = self._decode(
                    ref,
                    what,
                    lambda: protocol.parse_manifest(sub.body, sub.headers.get("content-type")),
                )
                sources.append(child.annotations)
        if not _complete(sources) and child.config_digest:
            blob = await self._blob(ref, child.config_digest)
            sources.append(self._decode(ref, what, lambda: protocol.config_labels(blob)))
        return ImageInfo(
            reference=str(ref),
            digest=resp.headers.get("docker-content-digest") or digest,
            media_type=doc.media_type,
            platforms=doc.platforms,
            annotations=protocol.merge_annotations(*sources),
        )

    async def _blob(self, ref: Reference, digest: str, what: str = "") -> bytes:
        what = what or f"config blob of {ref}"  # blob GETs are not pulls for Docker Hub's limit
        resp = await self._http.request(
            "GET",
            self._url(ref, f"blobs/{digest}"),
            kind="blob",
            host=ref.api_host,
            what=what,
            max_bytes=self.limits.manifest,
            scope=f"repository:{ref.api_repository}:pull",
        )
        self._expect_ok(resp, ref, what)
        if digest.startswith("sha256:") and _sha256(resp.body) != digest:
            raise RegistryError(f"{ref.api_host}: {what}: content does not match its digest")
        return resp.body

    # ------------------------------------------------------------------ supply-chain documents

    async def document(self, image: str, reference: str, what: str) -> tuple[bytes, str] | None:
        """A manifest by tag or digest (signature, attestation, referrers index); None on 404."""
        ref = parse(image)
        resp = await self._manifest_request(ref, "GET", f"manifests/{reference}", what)
        if resp.status == 404:
            return None
        self._expect_ok(resp, ref, what)
        return resp.body, resp.headers.get("content-type") or ""

    async def referrers(self, image: str, digest: str) -> bytes | None:
        """The OCI 1.1 referrers index of ``digest``; None where the registry lacks the API."""
        ref = parse(image)
        what = f"referrers of {ref.name}@{digest[:19]}"
        resp = await self._manifest_request(
            ref, "GET", f"referrers/{digest}", what, protocol.OCI_INDEX
        )
        if resp.status in (404, 405, 400):
            return None
        self._expect_ok(resp, ref, what)
        return resp.body

    async def blob(self, image: str, digest: str) -> bytes:
        """A blob by digest, checked against it (layers of signature manifests)."""
        ref = parse(image)
        return await self._blob(ref, digest, f"blob {digest[:19]} of {ref.name}")

    @staticmethod
    def _decode(ref: Reference, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ProtocolError as exc:
            raise RegistryError(f"{ref.api_host}: {what}: {exc}") from None


def _rate_key(host: str) -> str:
    """Host key of a per-registry rate: lower-cased, Docker Hub's aliases to its API host."""
    host = host.strip().lower()
    return DOCKER_HUB_API if is_docker_hub(host) else host


def _complete(sources: Sequence[Mapping[str, str]]) -> bool:
    return len(protocol.merge_annotations(*sources)) == len(protocol.ANNOTATION_KEYS)


def _sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()
