"""Auto-detected image references for the planner: scan, registry mirrors, policy choice, edits.

Glue between :mod:`bot.core.manifests` (the scan and the byte-exact edits), :mod:`bot.core.config`
(which
policy a ``.fluxbot.yaml`` rule gives an image) and :mod:`bot.core.policy.shape` (the default: keep
the
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

import bot.core.policy.shape as shape
from bot.core.ignores import canonical_image
from bot.core.manifests.edits import Update as EditUpdate
from bot.core.manifests.edits import apply_updates
from bot.core.manifests.scan import scan
from bot.core.manifests.sites import SiteKind
from bot.core.policy import latest
from bot.core.policy.select import Policy
from bot.core.policy.semver import parse_version
from bot.core.reference import DOCKER_HUB, InvalidReference, is_docker_hub
from bot.core.reference import parse as parse_reference


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
    known_policies: set[str],
    mirrors: Mapping[str, str],
    chooser: Chooser,
) -> tuple[list[Site], list[str], list[str], int]:
    """Auto-detected references of ``tree`` not handled by a known setter marker.

    Returns the sites, problems (unreadable files, invalid references), references that cannot
    be updated (templated, untagged) and the number of references seen (markers included).
    References excluded or ignored by the config, or every one when detection is off, are
    dropped.
    """
    found = scan(tree)
    problems = list(found.errors)
    unresolved: list[str] = []
    sites: list[Site] = []
    for ref in found.refs:
        if ref.marker is not None and ref.marker in known_policies:
            continue  # the marker path plans it, exactly as Flux would
        if not chooser.detect:
            continue
        if ref.unresolved is not None:
            line = f"{ref.file}:{ref.line}: {ref.value or ref.path}: {ref.unresolved}"
            (problems if ref.unresolved.startswith("invalid") else unresolved).append(line)
            continue
        if not ref.tag or not ref.image or ref.kind is SiteKind.MARKER:
            continue
        if chooser.skip(ref.image, ref.file):
            continue
        sites.append(
            Site(
                path=ref.file,
                start=min(s.start for s in ref.spans),
                end=max(s.end for s in ref.spans),
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


def _spellings(image: str) -> list[str]:
    """The name as written and its canonical form (``nginx``, ``docker.io/library/nginx``)."""
    canonical = canonical_image(image)
    return [image] if canonical == image else [image, canonical]


@dataclass(frozen=True)
class Chooser:
    """Which policy decides a detected reference: a config rule, else an ImagePolicy of the
    repository for that image, else the shape of the current tag."""

    config: Any = None  # bot.core.config.Config | None
    flux: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def detect(self) -> bool:
        return bool(getattr(self.config, "detect", True))

    @property
    def exclusion(self) -> tuple[str, ...] | None:
        return getattr(self.config, "exclusion_list", None)

    @property
    def path_sensitive(self) -> bool:
        """Whether the decision may depend on the file (a config rule limited to paths)."""
        return any(r.paths for r in getattr(self.config, "rules", ()))

    def skip(self, image: str, path: str) -> bool:
        """Excluded by the config, or matched first by an ``ignore: true`` rule."""
        if self.config is None:
            return False
        for name in _spellings(image):
            if self.config.excluded(name, path):
                return True
            for rule in self.config.rules:
                if rule.applies(name, path):
                    return bool(rule.ignore)
        return False

    def _rule(self, site: Site) -> tuple[str, Mapping[str, Any]] | None:
        if self.config is None:
            return None
        for name in _spellings(site.image):
            chosen = self.config.policy_for(name, site.path, site.tag)
            if chosen is not None:
                label, spec = chosen
                return f"{label}: {Policy.from_spec(spec).describe()}", spec
        flux = self.flux.get(canonical_image(site.image))
        if flux is not None:
            return f"{flux[0]}: {Policy.from_spec(flux[1]).describe()}", flux[1]
        return None

    def choose(self, site: Site, tags: Sequence[str]) -> tuple[str, str, str]:
        """(new tag, policy label, reason) for ``site`` among ``tags``; PolicyError if none."""
        rule = self._rule(site)
        if rule is not None:
            label, spec = rule
            new = latest(spec, tags)
            if new != site.tag and _is_downgrade(site.tag, new):
                return site.tag, label, f"{new} selected but it is lower than {site.tag}: kept"
            return new, label, f"{new} is what {label} selects among {len(tags)} tags"
        picked = shape.select(site.tag, list(tags))
        new = picked if picked else site.tag
        label = "same shape as the current tag (no prereleases, no downgrades)"
        why = f"{new} is the highest tag shaped like {site.tag} among {len(tags)} tags"
        return new, label, why


def _is_downgrade(old: str, new: str) -> bool:
    a, b = parse_version(old), parse_version(new)
    return a is not None and b is not None and b.key < a.key


def apply_site_edits(text: str, path: str, edits: Sequence[tuple[Site, str, str | None]]) -> str:
    """``text`` with each (site, new tag, new digest) spliced in; re-scanned to prove it."""
    if not edits:
        return text
    return apply_updates(text, [EditUpdate(site.ref, tag, digest) for site, tag, digest in edits])


__all__ = ["Chooser", "Site", "apply_site_edits", "auto_sites", "mirror_image"]
