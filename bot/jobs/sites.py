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

import bot.policy.shape as shape
from bot.manifests.edits import Update as EditUpdate
from bot.manifests.edits import apply_updates
from bot.manifests.scan import scan
from bot.manifests.setters import Marker
from bot.manifests.sites import SiteKind
from bot.policy import latest
from bot.policy.select import Policy
from bot.policy.semver import parse_version
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
    known_policies: set[str],
    mirrors: Mapping[str, str],
) -> tuple[list[Site], list[str], list[str], int]:
    """Auto-detected references of ``tree`` not handled by a known setter marker.

    Returns the sites, problems (unreadable files, invalid references), references that cannot
    be updated (templated, untagged) and the number of references seen (markers included).
    """
    found = scan(tree)
    problems = list(found.errors)
    unresolved: list[str] = []
    sites: list[Site] = []
    for ref in found.refs:
        if ref.marker is not None and ref.marker in known_policies:
            continue  # the marker path plans it, exactly as Flux would
        if ref.unresolved is not None:
            line = f"{ref.file}:{ref.line}: {ref.value or ref.path}: {ref.unresolved}"
            (problems if ref.unresolved.startswith("invalid") else unresolved).append(line)
            continue
        if not ref.tag or not ref.image or ref.kind is SiteKind.MARKER:
            continue
        first = min(s.start for s in ref.spans)
        last = max(s.end for s in ref.spans)
        sites.append(
            Site(
                path=ref.file,
                start=first,
                end=last,
                line=ref.line - 1,
                image=ref.image,
                tag=ref.tag,
                digest=ref.digest,
                kind=ref.kind.value,
                fetch=mirror_image(ref.image, mirrors),
                ref=ref,
            )
        )
    return sites, problems, unresolved, len(found.refs)


def _rule(config: Any, site: Site) -> tuple[Mapping[str, Any] | None, str]:
    """The policy spec a config rule gives ``site`` and its label, or (None, "")."""
    if config is None:
        return None, ""
    chosen = config.policy_for(site.image, site.path)
    if chosen is None:
        return None, ""
    if isinstance(chosen, Mapping):
        return chosen, ""
    spec = getattr(chosen, "spec", None)
    name = str(getattr(chosen, "name", "") or "")
    return (spec if isinstance(spec, Mapping) else None), name


def choose(site: Site, tags: Sequence[str], config: Any) -> tuple[str, str, str]:
    """(new tag, policy label, reason) for ``site`` among ``tags``; PolicyError if none."""
    spec, name = _rule(config, site)
    if spec is not None:
        described = Policy.from_spec(spec).describe()
        label = f"{name}: {described}" if name else described
        new = latest(spec, tags)
        if new != site.tag and _is_downgrade(site.tag, new):
            return site.tag, label, f"{new} selected but it is lower than {site.tag}: kept"
        return new, label, f"{new} is the latest of {len(tags)} tags by config rule ({label})"
    picked = shape.select(site.tag, list(tags))
    new = picked if picked else site.tag
    label = "same shape as the current tag (no prereleases, no downgrades)"
    return new, label, f"{new} is the highest tag shaped like {site.tag} among {len(tags)} tags"


def _is_downgrade(old: str, new: str) -> bool:
    a, b = parse_version(old), parse_version(new)
    return a is not None and b is not None and b.key < a.key


def apply_site_edits(text: str, path: str, edits: Sequence[tuple[Site, str, str | None]]) -> str:
    """``text`` with each (site, new tag, new digest) spliced in; re-scanned to prove it."""
    if not edits:
        return text
    return apply_updates(text, [EditUpdate(site.ref, tag, digest) for site, tag, digest in edits])


__all__ = ["Site", "apply_site_edits", "auto_sites", "choose", "mirror_image"]
