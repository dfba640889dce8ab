"""Step 3, decide: from the looked-up tags to the new tag of every marker policy and site.

:func:`decide` applies each ImageRepository's ``exclusionList`` (the config's for detected
references), the recorded ignores and the policy; what needs a digest (a policy reflecting digests,
a pinned reference) names it in :attr:`Decided.digest_refs`, the second lookup. :func:`settle`
then turns decisions and digests into :class:`~bot.core.plan.model.Planned` updates.

    decided = decide(found, tags, ignores)
    digests = await lookup_digests(registry, decided.digest_refs)     # I/O, in bot.jobs
    settled = settle(found, decided, digests)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.errors import PolicyError
from bot.core.ignores import filter_tags
from bot.core.manifests import setters
from bot.core.model import Ignore, Update
from bot.core.plan.extract import Extracted
from bot.core.plan.markers import MarkerPlan, tag_of
from bot.core.plan.model import Digest, Planned, Problem, Site, Tags
from bot.core.policy import exclude_tags, latest
from bot.core.policy.select import Policy


@dataclass(frozen=True)
class MarkerChoice:
    """An ImagePolicy's latest tag, and whether Flux would also reflect its digest."""

    plan: MarkerPlan
    tag: str
    policy: str
    reason: str
    wants_digest: bool

    @property
    def digest_ref(self) -> str:
        return f"{self.plan.fetch}:{self.tag}"


@dataclass(frozen=True)
class SiteChoice:
    """A site's new tag (a pinned site keeps its tag but may get a new digest)."""

    site: Site
    tag: str
    policy: str
    reason: str

    @property
    def digest_ref(self) -> str | None:
        return f"{self.site.fetch}:{self.tag}" if self.site.digest is not None else None


@dataclass(frozen=True)
class Decided:
    """Per marker policy with known tags (sorted by key) a choice or a problem; the sites that
    may move, and the problems of the ones that could not be decided."""

    markers: tuple[MarkerChoice | Problem, ...]
    sites: tuple[SiteChoice, ...]
    site_problems: tuple[Problem, ...]

    @property
    def digest_refs(self) -> list[str]:
        """``repository:tag`` of every digest the plan needs, each once."""
        refs = [
            m.digest_ref for m in self.markers if isinstance(m, MarkerChoice) and m.wants_digest
        ]
        refs += [r for s in self.sites if (r := s.digest_ref) is not None]
        return list(dict.fromkeys(refs))


@dataclass(frozen=True)
class Settled:
    """The updates to write, the marker results :func:`bot.core.manifests.setters.apply` takes,
    and what went wrong deciding."""

    planned: tuple[Planned, ...]
    results: Mapping[str, Mapping[str, str]]
    problems: tuple[Problem, ...]


def decide(found: Extracted, tags: Mapping[str, Tags], ignores: Sequence[Ignore]) -> Decided:
    """The new tag of every marker policy and site whose repository's tags are known."""
    markers = (_decide_marker(mp, tags, ignores) for _, mp in sorted(found.policies.items()))
    return Decided(tuple(m for m in markers if m is not None), *_decide_sites(found, tags, ignores))


def _decide_marker(
    mp: MarkerPlan, tags: Mapping[str, Tags], ignores: Sequence[Ignore]
) -> MarkerChoice | Problem | None:
    listed = tags[mp.fetch].value
    if listed is None:
        return None  # the lookup's own problem says why
    try:
        kept = filter_tags(mp.image, exclude_tags(listed, mp.exclusion), ignores)
        spec = mp.policy.spec
        tag = latest(spec, kept)
        described = Policy.from_spec(spec).describe()
    except PolicyError as exc:
        return Problem.at(f"ImagePolicy {mp.key} ({mp.image})", exc, failed=mp.image)
    reflect = str(spec.get("digestReflectionPolicy", "Never")) in ("Always", "IfNotPresent")
    return MarkerChoice(
        mp,
        tag,
        f"ImagePolicy {mp.key}: {described}",
        f"{tag} is what Flux selects among {len(kept)} tags ({described})",
        reflect,
    )


def _decide_sites(
    found: Extracted, tags: Mapping[str, Tags], ignores: Sequence[Ignore]
) -> tuple[tuple[SiteChoice, ...], tuple[Problem, ...]]:
    chooser = found.chooser
    choices: list[SiteChoice] = []
    problems: list[Problem] = []
    # many references share an image and a current tag: decide each combination once
    decided: dict[tuple[str, str, str, str], tuple[str, str, str] | PolicyError] = {}
    listed: dict[str, list[str]] = {}  # the exclusion list applied once per repository
    for site in found.sites:
        available = tags[site.fetch].value
        if available is None:
            continue
        key = (site.fetch, site.image, site.tag, site.path if chooser.path_sensitive else "")
        if key not in decided:
            try:
                if site.fetch not in listed:
                    listed[site.fetch] = exclude_tags(available, chooser.exclusion)
                kept = filter_tags(site.image, listed[site.fetch], ignores)
                decided[key] = chooser.choose(site.image, site.path, site.tag, kept)
            except PolicyError as exc:
                decided[key] = exc
        outcome = decided[key]
        if isinstance(outcome, PolicyError):
            where = f"{site.path}:{site.line + 1}: {site.image}"
            problems.append(Problem.at(where, outcome, failed=site.image))
            continue
        new, policy, reason = outcome
        if new == site.tag and site.digest is None:
            continue
        choices.append(SiteChoice(site, new, policy, reason))
    return tuple(choices), tuple(problems)


def settle(found: Extracted, decided: Decided, digests: Mapping[str, Digest]) -> Settled:
    """Decisions and digests to the updates that change something (see module docstring)."""
    results: dict[str, dict[str, str]] = {}
    why: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for choice in decided.markers:
        if isinstance(choice, Problem):
            problems.append(choice)
            continue
        mp = choice.plan
        result = {"image": mp.image, "tag": choice.tag}
        if choice.wants_digest:
            digest = digests[choice.digest_ref]
            if digest.value is None:
                problems.append(
                    Problem.at(f"{mp.image}:{choice.tag}", f"digest: {digest.error}", mp.image)
                )
                continue
            result["digest"] = digest.value
        results[mp.key] = result
        why[mp.key] = (choice.policy, choice.reason)
    planned = _marker_updates(found, results, why)
    problems.extend(decided.site_problems)
    for sc in decided.sites:
        site, new_digest = sc.site, None
        if sc.digest_ref is not None:
            digest = digests[sc.digest_ref]
            if digest.value is None:
                where = f"{site.image}:{sc.tag}"
                problems.append(Problem.at(where, f"digest: {digest.error}", site.image))
                continue
            new_digest = digest.value
            if sc.tag == site.tag and new_digest == site.digest:
                continue
        planned.append(_site_update(found, sc, new_digest))
    return Settled(tuple(planned), results, tuple(problems))


def failed_images(
    found: Extracted, tags: Mapping[str, Tags], problems: Sequence[Problem]
) -> frozenset[str]:
    """Images (as written) whose outcome is unknown: their lookup, policy or digest failed."""
    failed = {p.failed for p in problems if p.failed is not None}
    unknown = failed | {fetch for fetch, t in tags.items() if t.error is not None}
    return frozenset(
        {p.image for p in found.policies.values() if p.fetch in unknown}
        | {s.image for s in found.sites if s.fetch in unknown}
        | failed
    )


def _marker_updates(
    found: Extracted,
    results: Mapping[str, Mapping[str, str]],
    why: Mapping[str, tuple[str, str]],
) -> list[Planned]:
    planned: list[Planned] = []
    for path, markers in found.markers.items():
        for m in markers:
            mp = found.policies.get(m.policy)
            res = results.get(m.policy)
            if mp is None or res is None:
                continue
            new = setters.setter_value(res, m.field)
            if new is None or new == m.value:
                continue
            policy, reason = why[m.policy]
            update = Update(
                path=path,
                line=m.line + 1,
                image=mp.image,
                old=tag_of(m.value, m.field),
                new=tag_of(new, m.field),
                policy=policy,
                reason=reason,
                site=f"setter:{m.field.value}",
                kustomization=found.graph.owner(path),
            )
            planned.append(Planned(update, mp.fetch, marker=m.policy))
    return planned


def _site_update(found: Extracted, sc: SiteChoice, new_digest: str | None) -> Planned:
    site = sc.site
    update = Update(
        path=site.path,
        line=site.line + 1,
        image=site.image,
        old=site.tag,
        new=sc.tag,
        old_digest=site.digest,
        new_digest=new_digest,
        policy=sc.policy,
        reason=sc.reason,
        site=site.kind,
        kustomization=found.graph.owner(site.path),
    )
    return Planned(update, site.fetch, edit=(site, sc.tag, new_digest))


__all__ = [
    "Decided",
    "MarkerChoice",
    "Settled",
    "SiteChoice",
    "decide",
    "failed_images",
    "settle",
]
