"""The auto-detection extractor: image references the manifest scan finds, as planner sites.

References carrying a setter marker of a known ImagePolicy are left to the marker path
(:mod:`bot.core.plan.markers`). Registry mirrors (:mod:`bot.core.mirrors`, shared with ``tags``,
``inspect`` and ``policy test``) decide where each site's tags are read; the manifests keep the
name as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.manifests.edits import Update as EditUpdate
from bot.core.manifests.edits import apply_updates
from bot.core.manifests.scan import scan
from bot.core.manifests.sites import SiteKind
from bot.core.mirrors import mirror_image
from bot.core.plan.model import Found, Problem, Scope, Site


def auto_sites(tree: Mapping[str, str], scope: Scope) -> Found:
    """Auto-detected references of ``tree`` not handled by a known setter marker.

    References excluded or ignored by the config, or every one when detection is off, are
    dropped; templated or untagged ones are ``unresolved``, invalid ones problems.
    """
    found = scan(tree)
    problems = [Problem(e) for e in found.errors]
    unresolved: list[str] = []
    sites: list[Site] = []
    chooser = scope.chooser
    for ref in found.refs:
        if ref.marker is not None and ref.marker in scope.known_policies:
            continue  # the marker path plans it, exactly as Flux would
        if not chooser.detect:
            continue
        if ref.unresolved is not None:
            line = f"{ref.file}:{ref.line}: {ref.value or ref.path}: {ref.unresolved}"
            if ref.unresolved.startswith("invalid"):
                problems.append(Problem(line))
            else:
                unresolved.append(line)
            continue
        if not ref.tag or not ref.image or ref.kind is SiteKind.MARKER:
            continue
        if chooser.skip(ref.image, ref.file) or chooser.config.excluded_kind(ref.object_kind):
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
                fetch=mirror_image(ref.image, scope.mirrors),
                ref=ref,
            )
        )
    return Found(tuple(sites), tuple(problems), tuple(unresolved), len(found.refs))


def apply_site_edits(text: str, edits: Sequence[tuple[Site, str, str | None]]) -> str:
    """``text`` with each (site, new tag, new digest) spliced in; re-scanned to prove it."""
    if not edits:
        return text
    return apply_updates(text, [EditUpdate(site.ref, tag, digest) for site, tag, digest in edits])


__all__ = ["apply_site_edits", "auto_sites"]
