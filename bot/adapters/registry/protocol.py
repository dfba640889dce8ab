"""The registry protocol as pure functions and values (no I/O): the sans-I/O half of the client.

Owns ``WWW-Authenticate`` challenge parsing, ``Link`` pagination and
``ratelimit-*`` headers, manifest media types and manifest/index/config decoding::

    >>> parse_challenges(['Bearer realm="https://auth.example/token",service="reg"'])[0].params
    {'realm': 'https://auth.example/token', 'service': 'reg'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
#: Every manifest type we understand, most preferred first (sent on HEAD/GET ``/manifests/``).
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])

SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"
VERSION = "org.opencontainers.image.version"
ANNOTATION_KEYS = (SOURCE, REVISION, VERSION)


class ProtocolError(ValueError):
    """A registry answer that does not follow the protocol (callers add host and repository)."""


# --------------------------------------------------------------------------- auth challenges


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: a lower-cased scheme and its parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_SPACE = re.compile(r"[\s,]*")


def _quoted(value: str, pos: int) -> tuple[str, int]:
    out: list[str] = []
    pos += 1
    while pos < len(value):
        char = value[pos]
        if char == "\\" and pos + 1 < len(value):
            out.append(value[pos + 1])
            pos += 2
            continue
        if char == '"':
            return "".join(out), pos + 1
        out.append(char)
        pos += 1
    raise ProtocolError("unterminated quoted string in WWW-Authenticate")


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Parse every challenge in one or more ``WWW-Authenticate`` header values (RFC 7235)."""
    challenges: list[Challenge] = []
    for value in values:
        pos = 0
        current: dict[str, str] | None = None
        while True:
            pos = _SPACE.match(value, pos).end()  # type: ignore[union-attr]
            if pos >= len(value):
                break
            match = _TOKEN.match(value, pos)
            if match is None:
                raise ProtocolError(f"malformed WWW-Authenticate near {value[pos : pos + 20]!r}")
            token, pos = match.group(), match.end()
            while pos < len(value) and value[pos] == " ":
                pos += 1
            is_param = pos < len(value) and value[pos] == "=" and current is not None
            if is_param and current is not None:
                pos += 1
                while pos < len(value) and value[pos] == " ":
                    pos += 1
                if pos < len(value) and value[pos] == '"':
                    param, pos = _quoted(value, pos)
                else:
                    m = _TOKEN.match(value, pos)
                    param, pos = (m.group(), m.end()) if m else ("", pos)
                current[token.lower()] = param
            else:
                current = {}
                challenges.append(Challenge(token.lower(), current))
                # token68 credentials (``Basic abc==``) are not used by registries: skip them
                m = re.compile(r"[A-Za-z0-9._~+/-]+=*(?=\s*(,|$))").match(value, pos)
                if m and "=" in m.group():
                    pos = m.end()
    return challenges


# --------------------------------------------------------------------------- pagination

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";]+)"?""", re.I)


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with default ports filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def next_link(link_headers: Iterable[str], base_url: str) -> str | None:
    """Absolute URL of ``rel="next"``; raises :class:`ProtocolError` if it leaves the origin."""
    for header in link_headers:
        for target, params in _LINK.findall(header):
            rels = {r.lower() for m in _REL.finditer(params) for r in m.group(1).split()}
            if "next" not in rels:
                continue
            absolute: str = urljoin(base_url, str(target))
            if origin(absolute) != origin(base_url):
                raise ProtocolError(f"pagination link leaves the registry: {absolute}")
            return absolute
    return None


# --------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class RateLimit:
    """Docker Hub style ``ratelimit-remaining: 76;w=21600``."""

    remaining: int
    window: int | None = None


def parse_ratelimit(value: str | None) -> RateLimit | None:
    """Parse a ``ratelimit-remaining`` (or ``-limit``) header; None when absent or garbled."""
    if not value:
        return None
    head, *params = value.split(";")
    try:
        remaining = int(head.strip())
    except ValueError:
        return None
    window = None
    for param in params:
        key, _, raw = param.strip().partition("=")
        if key == "w" and raw.isdigit():
            window = int(raw)
    return RateLimit(remaining, window)


# --------------------------------------------------------------------------- manifests


@dataclass(frozen=True)
class Platform:
    """One platform entry of an image index."""

    os: str
    architecture: str
    variant: str | None
    digest: str
    media_type: str

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)


@dataclass(frozen=True)
class Manifest:
    """What we need from a manifest or index document."""

    media_type: str
    platforms: tuple[Platform, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    config_digest: str | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def load_json(body: bytes) -> Any:
    """Decode a JSON body or raise :class:`ProtocolError` naming the problem."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"malformed JSON ({exc.__class__.__name__}: {exc})") from None


def _is_attestation(entry: Mapping[str, Any]) -> bool:
    notes = entry.get("annotations") or {}
    if notes.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    if entry.get("artifactType"):
        return True
    plat = entry.get("platform") or {}
    return plat.get("os") == "unknown" and plat.get("architecture") == "unknown"


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def parse_manifest(body: bytes, content_type: str | None) -> Manifest:
    """Decode a manifest or index; attestation and artifact entries are not platforms."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise ProtocolError("manifest is not a JSON object")
    media = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if media not in INDEX_TYPES | MANIFEST_TYPES:
        if isinstance(doc.get("manifests"), list):
            media = OCI_INDEX
        elif isinstance(doc.get("config"), dict):
            media = OCI_MANIFEST
        elif doc.get("schemaVersion") == 1:
            media = DOCKER_SCHEMA1
        else:
            raise ProtocolError(f"unknown manifest media type {media!r}")
    annotations = _strings(doc.get("annotations"))
    if media in INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise ProtocolError("index without a manifests list")
        platforms = []
        for entry in entries:
            if not isinstance(entry, dict) or _is_attestation(entry):
                continue
            plat = entry.get("platform")
            digest = entry.get("digest")
            if not isinstance(plat, dict) or not isinstance(digest, str):
                continue
            platforms.append(
                Platform(
                    os=str(plat.get("os", "")),
                    architecture=str(plat.get("architecture", "")),
                    variant=plat.get("variant") or None,
                    digest=digest,
                    media_type=str(entry.get("mediaType", "")),
                )
            )
        return Manifest(media, tuple(platforms), annotations)
    config = doc.get("config")
    config_digest = config.get("digest") if isinstance(config, dict) else None
    return Manifest(
        media, (), annotations, config_digest if isinstance(config_digest, str) else None
    )


def config_labels(body: bytes) -> dict[str, str]:
    """``config.Labels`` of an image config blob."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise ProtocolError("image config is not a JSON object")
    config = doc.get("config")
    return _strings(config.get("Labels")) if isinstance(config, dict) else {}


def merge_annotations(*sources: Mapping[str, str]) -> dict[str, str]:
    """Source/revision/version: the first source that has a key wins (index → manifest → labels)."""
    out: dict[str, str] = {}
    for source in sources:
        for key in ANNOTATION_KEYS:
            if key not in out and source.get(key):
                out[key] = source[key]
    return out


def pick_platform(platforms: Iterable[Platform]) -> Platform | None:
    """The platform whose manifest is read for annotations: linux/amd64 if present."""
    candidates = list(platforms)
    for plat in candidates:
        if (plat.os, plat.architecture) == ("linux", "amd64"):
            return plat
    return candidates[0] if candidates else None


def parse_tags_page(body: bytes) -> list[str]:
    """The ``tags`` of one ``tags/list`` page (``null`` is an empty repository)."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise ProtocolError("tags list is not a JSON object")
    tags = doc.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ProtocolError("tags is not a list of strings")
    return tags


def parse_token(body: bytes) -> tuple[str, float]:
    """(token, lifetime in seconds) from a token endpoint answer; lifetime defaults to 60 s."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        raise ProtocolError("token answer is not a JSON object")
    token = doc.get("token") or doc.get("access_token")
    if not isinstance(token, str) or not token:
        raise ProtocolError("token answer has neither token nor access_token")
    expires = doc.get("expires_in")
    lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
    return token, lifetime
