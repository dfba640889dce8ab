"""Step 1, extract: every reference the plan may move, and the Flux objects that decide them.

Two paths side by side: setter markers of the tree's ImagePolicies (:mod:`bot.core.plan.markers`,
decided exactly as Flux does), and sites found by the :data:`EXTRACTORS` (auto-detection today;
each extractor is a :data:`~bot.core.plan.model.SiteExtractor`, a pure function of the tree and
the :class:`~bot.core.plan.model.Scope`).

    found = extract(tree, config, mirrors={})
    found.images            # the repositories whose tags the lookup step fetches
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.config import Config
from bot.core.flux.graph import FluxGraph
from bot.core.flux.objects import ImagePolicy, parse_tree
from bot.core.manifests import setters
from bot.core.plan.choose import Chooser
from bot.core.plan.markers import MarkerPlan, find_markers, flux_policies, marker_policies
from bot.core.plan.model import Problem, Scope, Site, SiteExtractor
from bot.core.plan.sites import auto_sites

EXTRACTORS: tuple[SiteExtractor, ...] = (auto_sites,)
"""The site extractors, in order; a reference found by two of them is planned twice."""


@dataclass(frozen=True)
class Extracted:
    """What :func:`extract` found in one tree."""

    graph: FluxGraph  # which Kustomization owns each file
    markers: Mapping[str, list[setters.Marker]]  # path → its setter markers
    policies: Mapping[str, MarkerPlan]  # "ns:name" → the ImagePolicy a marker names
    sites: tuple[Site, ...]
    chooser: Chooser
    problems: tuple[Problem, ...]
    unresolved: tuple[str, ...]
    refs_seen: int

    @property
    def images(self) -> list[str]:
        """The repositories to list tags of, each once (mirrors applied)."""
        return sorted({p.fetch for p in self.policies.values()} | {s.fetch for s in self.sites})


def extract(
    tree: Mapping[str, str],
    config: Config,
    mirrors: Mapping[str, str],
    extractors: tuple[SiteExtractor, ...] = EXTRACTORS,
) -> Extracted:
    """Markers, their ImagePolicies, and every extractor's sites (see module docstring)."""
    objects = parse_tree(tree)
    markers, marker_problems = find_markers(tree)
    wanted = {m.policy for ms in markers.values() for m in ms}
    policies, policy_problems = marker_policies(objects, wanted, mirrors)
    chooser = Chooser(config, flux_policies(objects))
    known = frozenset(f"{p.namespace}:{p.name}" for p in objects.of(ImagePolicy))
    scope = Scope(chooser, mirrors, known)
    found = [extractor(tree, scope) for extractor in extractors]
    return Extracted(
        graph=FluxGraph(objects, tree.keys()),
        markers=markers,
        policies=policies,
        sites=tuple(s for f in found for s in f.sites),
        chooser=chooser,
        problems=(
            *(Problem(str(p)) for p in objects.problems),
            *marker_problems,
            *policy_problems,
            *(p for f in found for p in f.problems),
        ),
        unresolved=tuple(u for f in found for u in f.unresolved),
        refs_seen=sum(f.refs_seen for f in found),
    )


__all__ = ["EXTRACTORS", "Extracted", "extract"]
