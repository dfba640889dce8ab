"""Container image references: parsing, validation and Docker Hub normalisation (pure).

Owns the OCI/Docker reference grammar (``[domain/]path[:tag][@digest]``). The user's spelling is
kept in :attr:`Reference.name` for writing back to Git; the API coordinates are derived::

    >>> ref = parse("nginx:1.25")
    >>> ref.name, ref.api_host, ref.api_repository, ref.tag
    ('nginx', 'registry-1.docker.io', 'library/nginx', '1.25')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.errors import ConfigError

__all__ = [
    "DOCKER_HUB",
    "DOCKER_HUB_API",
    "InvalidReference",
    "Reference",
    "is_docker_hub",
    "parse",
]

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_HEX = re.compile(r"[a-f0-9]+")
_DIGEST_HEX_LEN = {"sha256": 64, "sha512": 128}
NAME_MAX = 255


class InvalidReference(ConfigError, ValueError):
    """An image reference that does not follow the OCI/Docker grammar."""


def is_docker_hub(host: str) -> bool:
    """True for every spelling of Docker Hub's registry host."""
    return host.lower() in _HUB_ALIASES


@dataclass(frozen=True)
class Reference:
    """A parsed image reference.

    ``registry`` is the host as written (``docker.io`` when omitted); ``repository`` the path as
    written; ``name`` the user's spelling without tag or digest.
    """

    name: str
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    explicit_registry: bool = True

    @property
    def api_host(self) -> str:
        """Host (and port) to send API requests to."""
        return DOCKER_HUB_API if is_docker_hub(self.registry) else self.registry.lower()

    @property
    def api_repository(self) -> str:
        """Repository as the API wants it (``library/`` added for Docker Hub official images)."""
        if is_docker_hub(self.registry) and "/" not in self.repository:
            return f"library/{self.repository}"
        return self.repository

    @property
    def canonical(self) -> str:
        """Fully qualified name, e.g. ``docker.io/library/nginx``."""
        host = DOCKER_HUB if is_docker_hub(self.registry) else self.registry
        return f"{host}/{self.api_repository}"

    @property
    def is_docker_hub(self) -> bool:
        return is_docker_hub(self.registry)

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest if pinned, else the tag (``latest``)."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> str:
        """The user's spelling of this image with another tag (digest dropped)."""
        return f"{self.name}:{_check_tag(tag)}"

    def with_digest(self, digest: str) -> str:
        """The user's spelling with the tag kept and a digest pinned."""
        base = f"{self.name}:{self.tag}" if self.tag else self.name
        return f"{base}@{_check_digest(digest)}"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def _check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise InvalidReference(f"invalid tag {tag!r}")
    return tag


def _check_digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise InvalidReference(f"invalid digest {digest!r}")
    algorithm, _, encoded = digest.partition(":")
    want = _DIGEST_HEX_LEN.get(algorithm)
    if want is not None and (len(encoded) != want or not _HEX.fullmatch(encoded)):
        raise InvalidReference(f"invalid {algorithm} digest {digest!r}")
    return digest


def _split_domain(name: str) -> tuple[str | None, str]:
    first, slash, rest = name.partition("/")
    if not slash:
        return None, name
    if "." in first or ":" in first or first == "localhost" or first.lower() != first:
        return first, rest
    return None, name


def parse(ref: str) -> Reference:
    """Parse and validate an image reference; raises :class:`InvalidReference`."""
    text = ref.strip()
    if text != ref or not text:
        raise InvalidReference(f"invalid image reference {ref!r}")
    remainder, at, digest = text.partition("@")
    digest_value = _check_digest(digest) if at else None
    tag: str | None = None
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        remainder, tag = remainder[:colon], _check_tag(remainder[colon + 1 :])
    if len(remainder) > NAME_MAX:
        raise InvalidReference(f"image name longer than {NAME_MAX} characters: {ref!r}")
    domain, path = _split_domain(remainder)
    if domain is not None and not _DOMAIN.fullmatch(domain):
        raise InvalidReference(f"invalid registry host {domain!r} in {ref!r}")
    if not _PATH.fullmatch(path):
        if path.lower() != path and _PATH.fullmatch(path.lower()):
            raise InvalidReference(f"repository name must be lowercase: {ref!r}")
        raise InvalidReference(f"invalid repository name {path!r} in {ref!r}")
    return Reference(
        name=remainder,
        registry=domain if domain is not None else DOCKER_HUB,
        repository=path,
        tag=tag,
        digest=digest_value,
        explicit_registry=domain is not None,
    )
