"""The setter-marker half of planning: Flux ImagePolicy objects of the tree, evaluated as Flux does.

For every ``{"$imagepolicy": "ns:name"}`` marker the tree's ImagePolicy gives the policy and its
ImageRepository the image and ``exclusionList``; :func:`resolve_markers` computes each policy's
latest ref (``{"image", "tag", "digest"?}``), the ``results`` that
:func:`bot.core.manifests.setters.apply` takes. Tags come from :func:`fetch_all`, one lookup per
repository, concurrent; a failure is recorded, never raised.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.errors import BotError, PolicyError
from bot.core.flux.objects import FluxObjects, ImagePolicy, ImageRepository
from bot.core.ignores import canonical_image, filter_tags
from bot.core.manifests import setters
from bot.core.model import Ignore
from bot.core.policy import exclude_tags, latest
from bot.core.policy.select import Policy
from bot.jobs.context import Context
from bot.jobs.sites import mirror_image

Progress = Callable[[int, int], None]


@dataclass
class Fetch:
    """One tags fetch: the name to ask the registry, and the outcome."""

    image: str
    tags: list[str] | None = None
    error: str | None = None


async def fetch_all(
    ctx: Context, images: Sequence[str], progress: Progress | None
) -> dict[str, Fetch]:
    fetches = {image: Fetch(image) for image in images}
    done = 0

    async def one(f: Fetch) -> None:
        nonlocal done
        try:
            # every tag: the job applies each ImageRepository's own exclusionList (which
            # replaces Flux's default), so the client must not drop .sig tags first
            f.tags = list(await ctx.registry.tags(f.image, exclusion=[]))
        except BotError as exc:
            f.error = str(exc)
        finally:
            done += 1
            if progress is not None:
                progress(done, len(fetches))

    await asyncio.gather(*(one(f) for f in fetches.values()))
    return fetches


@dataclass(frozen=True)
class MarkerPlan:
    """Per ImagePolicy referenced by markers: its latest ref and how it was chosen."""

    key: str
    image: str
    fetch: str
    exclusion: tuple[str, ...] | None
    policy: ImagePolicy


def marker_policies(
    objects: FluxObjects, wanted: set[str], mirrors: Mapping[str, str], problems: list[str]
) -> dict[str, MarkerPlan]:
    repos = {(r.namespace, r.name): r for r in objects.of(ImageRepository)}
    out: dict[str, MarkerPlan] = {}
    for pol in objects.of(ImagePolicy):
        key = f"{pol.namespace}:{pol.name}"
        if key not in wanted:
            continue
        ref = pol.image_repository
        repo = repos.get((ref.namespace or pol.namespace, ref.name))
        if repo is None or not repo.image:
            problems.append(
                f"ImagePolicy {key}: ImageRepository {ref.namespace or pol.namespace}/{ref.name}"
                " not found in the repository"
            )
            continue
        exclusion = repo.exclusion_list if "exclusionList" in repo.spec else None
        fetch = mirror_image(repo.image, mirrors)
        out[key] = MarkerPlan(key, repo.image, fetch, exclusion, pol)
    return out


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


async def resolve_markers(
    ctx: Context,
    policies: Mapping[str, MarkerPlan],
    fetched: Mapping[str, Fetch],
    ignores: Sequence[Ignore],
    problems: list[str],
    failed: set[str],
) -> tuple[dict[str, dict[str, str]], dict[str, tuple[str, str]]]:
    results: dict[str, dict[str, str]] = {}
    why: dict[str, tuple[str, str]] = {}
    for key, mp in sorted(policies.items()):
        tags = fetched[mp.fetch].tags
        if tags is None:
            continue
        try:
            kept = filter_tags(mp.image, exclude_tags(tags, mp.exclusion), ignores)
            spec = mp.policy.spec
            tag = latest(spec, kept)
            described = Policy.from_spec(spec).describe()
        except PolicyError as exc:
            problems.append(f"ImagePolicy {key} ({mp.image}): {exc}")
            failed.add(mp.image)
            continue
        result = {"image": mp.image, "tag": tag}
        if str(spec.get("digestReflectionPolicy", "Never")) in ("Always", "IfNotPresent"):
            try:
                result["digest"] = await ctx.registry.digest(f"{mp.fetch}:{tag}")
            except BotError as exc:
                problems.append(f"{mp.image}:{tag}: digest: {exc}")
                failed.add(mp.image)
                continue
        results[key] = result
        why[key] = (
            f"ImagePolicy {key}: {described}",
            f"{tag} is what Flux selects among {len(kept)} tags ({described})",
        )
    return results, why


__all__ = [
    "Fetch",
    "MarkerPlan",
    "Progress",
    "fetch_all",
    "flux_policies",
    "marker_policies",
    "resolve_markers",
    "tag_of",
]
