"""Registry mirrors: where an image's tags and manifests are read, with the name kept as written.

A mirror maps a registry host to another one and keeps the repository path, as containerd's
``hosts.toml`` mirrors do. Every entry point that reads a registry (``plan``, ``run``, ``tags``,
``inspect``, ``policy test``) asks this module, so they all agree::

    >>> mirror_image("nginx", {"docker.io": "127.0.0.1:5000"})
    '127.0.0.1:5000/library/nginx'
    >>> mirror_reference("nginx:1.27@sha256:" + "a" * 64, {"docker.io": "m:5000"})[:26]
    'm:5000/library/nginx:1.27@'
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.reference import DOCKER_HUB, InvalidReference, is_docker_hub
from bot.core.reference import parse as parse_reference

__all__ = ["mirror_for", "mirror_image", "mirror_reference"]


def mirror_for(image: str, mirrors: Mapping[str, str]) -> str | None:
    """The mirror host serving ``image`` (a name, tag or digest allowed), or None."""
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return None
    host = DOCKER_HUB if ref.is_docker_hub else ref.registry
    for source, target in mirrors.items():
        if source == host or (is_docker_hub(source) and ref.is_docker_hub):
            return target.rstrip("/")
    return None


def mirror_image(image: str, mirrors: Mapping[str, str]) -> str:
    """The repository to ask for ``image``'s tags, with ``mirrors`` (host → host) applied."""
    try:
        ref = parse_reference(image)
    except InvalidReference:
        return image
    target = mirror_for(image, mirrors)
    return ref.name if target is None else f"{target}/{ref.api_repository}"


def mirror_reference(reference: str, mirrors: Mapping[str, str]) -> str:
    """``reference`` (``name[:tag][@digest]``) with its name moved to the mirror, if any."""
    try:
        ref = parse_reference(reference)
    except InvalidReference:
        return reference
    out = mirror_image(ref.name, mirrors)
    if ref.tag:
        out += f":{ref.tag}"
    if ref.digest:
        out += f"@{ref.digest}"
    return out
