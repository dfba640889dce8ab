"""The setter-marker extractor: ``{"$imagepolicy": "ns:name"}`` markers and the Flux objects
behind them, evaluated as Flux does.

For every marker the tree's ImagePolicy gives the policy and its ImageRepository the image and
``exclusionList``; :func:`bot.core.plan.decide.decide` computes each policy's latest ref
(``{"image", "tag", "digest"?}``), the ``results`` that :func:`bot.core.manifests.setters.apply`
takes.

    >>> tag_of("ghcr.io/o/app:1.2.3", setters.Field.IMAGE)
    '1.2.3'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.errors import ManifestError
from bot.core.flux.objects import FluxObjects, ImagePolicy, ImageRepository
from bot.core.ignores import canonical_image
from bot.core.manifests import setters
from bot.core.mirrors import mirror_image
from bot.core.plan.model import Problem


@dataclass(frozen=True)
class MarkerPlan:
    """One ImagePolicy referenced by markers: its image, where its tags come from, its policy."""

    key: str
    image: str
    fetch: str
    exclusion: tuple[str, ...] | None
    policy: ImagePolicy


def find_markers(
    tree: Mapping[str, str],
) -> tuple[dict[str, list[setters.Marker]], tuple[Problem, ...]]:
    """Every file's setter markers (path → markers), and the files that could not be read."""
    markers: dict[str, list[setters.Marker]] = {}
    problems: list[Problem] = []
    for path, text in tree.items():
        if setters.TOKEN not in text:
            continue
        try:
            found = setters.find_markers(text)
        except ManifestError as exc:
            problems.append(Problem.at(path, exc))
            continue
        if found:
            markers[path] = found
    return markers, tuple(problems)


def marker_policies(
    objects: FluxObjects, wanted: set[str], mirrors: Mapping[str, str]
) -> tuple[dict[str, MarkerPlan], tuple[Problem, ...]]:
    """The ImagePolicies ``wanted`` by markers (``ns:name`` → plan), and the ones whose
    ImageRepository the tree lacks."""
    repos = {(r.namespace, r.name): r for r in objects.of(ImageRepository)}
    out: dict[str, MarkerPlan] = {}
    problems: list[Problem] = []
    for pol in objects.of(ImagePolicy):
        key = f"{pol.namespace}:{pol.name}"
        if key not in wanted:
            continue
        ref = pol.image_repository
        repo = repos.get((ref.namespace or pol.namespace, ref.name))
        if repo is None or not repo.image:
            problems.append(
                Problem(
                    f"ImagePolicy {key}: ImageRepository {ref.namespace or pol.namespace}/"
                    f"{ref.name} not found in the repository"
                )
            )
            continue
        exclusion = repo.exclusion_list if "exclusionList" in repo.spec else None
        fetch = mirror_image(repo.image, mirrors)
        out[key] = MarkerPlan(key, repo.image, fetch, exclusion, pol)
    return out, tuple(problems)


def flux_policies(objects: FluxObjects) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Canonical image → (label, spec) of the one ImagePolicy of the repository watching it."""
    repos = {(r.namespace, r.name): r for r in objects.of(ImageRepository)}
    found: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
    for pol in objects.of(ImagePolicy):
        ref = pol.image_repository
        repo = repos.get((ref.namespace or pol.namespace, ref.name))
        if repo is not None and repo.image:
            found[canonical_image(repo.image)].append(
                (f"ImagePolicy {pol.namespace}:{pol.name}", pol.spec)
            )
    return {image: pols[0] for image, pols in found.items() if len(pols) == 1}


def tag_of(value: str, fld: setters.Field) -> str:
    """The tag part of a marker value (the whole value for ``:tag``/``:name``/``:digest``)."""
    if fld is not setters.Field.IMAGE:
        return value
    name = value.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[colon + 1 :] if colon > slash else value


__all__ = ["MarkerPlan", "find_markers", "flux_policies", "marker_policies", "tag_of"]
