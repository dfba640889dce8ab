"""Auto-detected image references for the planner: scan, registry mirrors, policy choice, edits.

Glue between :mod:`bot.manifests` (the scan and the byte-exact edits), :mod:`bot.config` (which
policy a ``.fluxbot.yaml`` rule gives an image) and :mod:`bot.policy.shape` (the default: keep the
current tag's shape). References carrying a setter marker are left to the marker path.

Registry mirrors map a registry host to another one, keeping the repository path, as containerd's
``hosts.toml`` mirrors do: ``{"docker.io": "mirror.local:5000"}`` fetches ``nginx``'s tags from
``mirror.local:5000/library/nginx``; the manifests keep the name as written.

    >>> mirror_image("nginx", {"docker.io": "127.0.0.1:5000"})
    '127.0.0.1:5000/library/nginx'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.manifests.setters import Marker
from bot.reference import DOCKER_HUB, InvalidReference, is_docker_hub
from bot.reference import parse as parse_reference


@dataclass(frozen=True)
class Site:
    """One auto-detected reference: where it is, what it reads, and where its tags come from."""

    path: str
    start: int
    end: int
    line: int  # 0-based
    image: str  # the name as written (no tag, no digest)
    tag: str
    digest: str | None
    kind: str
    fetch: str  # the repository to list tags of (mirrors applied)
    ref: Any = field(default=None, compare=False, hash=False, repr=False)


def mirror_image(image: str, mirrors: Mapping[str, str]) -> str:
    """The repository to ask for ``image``'s tags, with ``mirrors`` (host → host) applied."""
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return image
    host = DOCKER_HUB if ref.is_docker_hub else ref.registry
    for source, target in mirrors.items():
        if source == host or (is_docker_hub(source) and ref.is_docker_hub):
            return f"{target.rstrip('/')}/{ref.api_repository}"
    return ref.name


def auto_sites(
    tree: Mapping[str, str],
    markers: Mapping[str, Sequence[Marker]],
    config: Any,
    mirrors: Mapping[str, str],
) -> tuple[list[Site], list[str]]:
    """Every auto-detected reference of ``tree`` not covered by a setter marker; problems."""
    return [], []


def choose(site: Site, tags: Sequence[str], config: Any) -> tuple[str, str, str]:
    """(new tag, policy label, reason) for ``site`` among ``tags``; PolicyError if none."""
    raise NotImplementedError


def apply_site_edits(text: str, edits: Sequence[tuple[Any, ...]]) -> str:
    """``text`` with each (site, new tag, new digest) spliced in; re-scanned to prove it."""
    if not edits:
        return text
    raise NotImplementedError


__all__ = ["Site", "apply_site_edits", "auto_sites", "choose", "mirror_image"]
