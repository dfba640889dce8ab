"""Where image references live in a Flux repository: one data table, read by :mod:`scan`.

Each :class:`Site` says which documents it applies to (API group and kind, or a kustomize
file name), the path to follow inside the document, and the *shape* of what is found there.
Adding a place to look is adding a row::

    Site(SiteKind.CONTAINER, ("apps",), ("Deployment",), (*POD_TEMPLATE, CONTAINERS, ANY, "image"),
         Shape.REF)

Path steps: a key (``"spec"``), a set of alternative keys (:data:`CONTAINERS`), :data:`ANY` for
every item of a sequence (or every value of a mapping), and :data:`DEEP` for "anywhere below,
where the key looks like an image" (Renovate's helm-values heuristic: keys ending in ``image``,
case-insensitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "ANY",
    "ANY_GROUP",
    "COMPOSE_FILES",
    "CONTAINERS",
    "DEEP",
    "KUSTOMIZE_FILES",
    "SITES",
    "Role",
    "Shape",
    "Site",
    "SiteKind",
    "Step",
]


class SiteKind(StrEnum):
    """The kind of place an image reference was found in."""

    CONTAINER = "container"  # workload container / initContainer / ephemeralContainer image
    KUSTOMIZE_IMAGES = "kustomize-images"  # kustomization.yaml images: (and Components)
    FLUX_KUSTOMIZATION_IMAGES = "flux-kustomization-images"  # Flux Kustomization spec.images
    HELM_POST_RENDERER_IMAGES = "helm-post-renderer-images"  # HelmRelease postRenderers images
    HELM_VALUES_IMAGE = "helm-values-image"  # HelmRelease values: image: repo:tag
    HELM_VALUES_MAP = "helm-values-map"  # HelmRelease values: image: {repository, tag}
    OCI_REPOSITORY = "oci-repository"  # OCIRepository spec.url + spec.ref.tag
    KUBERNETES_IMAGE = "kubernetes-image"  # any other object: an ``image: repo:tag`` string
    COMPOSE = "compose"  # docker-compose file: services.<name>.image
    ANNOTATION = "renovate-annotation"  # a "# renovate: datasource=docker" comment says so
    MARKER = "marker"  # only a $imagepolicy setter marker says this is an image


class Shape(StrEnum):
    """How the node found at a site's path holds the reference."""

    REF = "ref"  # one scalar: name[:tag][@digest]
    KUSTOMIZE_ENTRY = "kustomize-entry"  # {name, newName?, newTag?, digest?}
    HELM_VALUES = "helm-values"  # DEEP search: REF strings or {registry?, repository, tag}
    OCI_SOURCE = "oci-source"  # {url: oci://..., ref: {tag?, digest?}}
    IMAGE_STRINGS = "image-strings"  # DEEP search: every ``image:`` key with a string value


class Role(StrEnum):
    """What a scalar contributes to a reference, hence what an update writes into it."""

    REF = "ref"  # the whole reference: name:tag[@digest]
    NAME = "name"  # image name (never rewritten by a tag update)
    TAG = "tag"  # the tag, possibly with "@digest" appended (a pin)
    DIGEST = "digest"  # the digest alone


class _Any:
    def __repr__(self) -> str:
        return "ANY"


class _Deep:
    def __repr__(self) -> str:
        return "DEEP"


ANY: Final = _Any()
DEEP: Final = _Deep()
Step = str | frozenset[str] | _Any | _Deep

ANY_GROUP: Final = "*"
"""In ``groups`` and ``kinds``: any document that has an apiVersion and a kind."""
CONTAINERS: Final = frozenset(("containers", "initContainers", "ephemeralContainers"))
POD_TEMPLATE: Final = ("spec", "template", "spec")
KUSTOMIZE_FILES: Final = frozenset(("kustomization.yaml", "kustomization.yml", "Kustomization"))
COMPOSE_FILES: Final = re.compile(r"(^|/)(docker-)?compose[^/]*\.ya?ml$")
"""Renovate's docker-compose ``fileMatch``: compose.yaml, docker-compose.prod.yml, ..."""


@dataclass(frozen=True)
class Site:
    """One row of the table: which documents, which path, what shape."""

    kind: SiteKind
    groups: tuple[str, ...]  # API groups ("" = core); () with ``files`` = no apiVersion needed
    kinds: tuple[str, ...]
    path: tuple[Step, ...]
    shape: Shape
    files: frozenset[str] = frozenset()  # base names this row is limited to (kustomize files)
    file_pattern: re.Pattern[str] | None = None  # or paths matching this (compose files)

    def for_file(self, path: str) -> bool:
        """Whether this row is limited to files and ``path`` is one of them."""
        base = path.rsplit("/", 1)[-1]
        return base in self.files or bool(self.file_pattern and self.file_pattern.search(path))


SITES: Final[tuple[Site, ...]] = (
    Site(
        SiteKind.CONTAINER,
        ("apps", "extensions"),
        ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"),
        (*POD_TEMPLATE, CONTAINERS, ANY, "image"),
        Shape.REF,
    ),
    Site(
        SiteKind.CONTAINER,
        ("batch",),
        ("Job",),
        (*POD_TEMPLATE, CONTAINERS, ANY, "image"),
        Shape.REF,
    ),
    Site(
        SiteKind.CONTAINER,
        ("batch",),
        ("CronJob",),
        ("spec", "jobTemplate", *POD_TEMPLATE, CONTAINERS, ANY, "image"),
        Shape.REF,
    ),
    Site(SiteKind.CONTAINER, ("",), ("Pod",), ("spec", CONTAINERS, ANY, "image"), Shape.REF),
    Site(
        SiteKind.KUSTOMIZE_IMAGES,
        ("kustomize.config.k8s.io",),
        ("Kustomization", "Component"),
        ("images", ANY),
        Shape.KUSTOMIZE_ENTRY,
        files=KUSTOMIZE_FILES,
    ),
    Site(
        SiteKind.FLUX_KUSTOMIZATION_IMAGES,
        ("kustomize.toolkit.fluxcd.io",),
        ("Kustomization",),
        ("spec", "images", ANY),
        Shape.KUSTOMIZE_ENTRY,
    ),
    Site(
        SiteKind.HELM_POST_RENDERER_IMAGES,
        ("helm.toolkit.fluxcd.io",),
        ("HelmRelease",),
        ("spec", "postRenderers", ANY, "kustomize", "images", ANY),
        Shape.KUSTOMIZE_ENTRY,
    ),
    Site(
        SiteKind.HELM_VALUES_IMAGE,  # HELM_VALUES_MAP too: the shape decides per finding
        ("helm.toolkit.fluxcd.io",),
        ("HelmRelease",),
        ("spec", "values", DEEP),
        Shape.HELM_VALUES,
    ),
    Site(
        SiteKind.OCI_REPOSITORY,
        ("source.toolkit.fluxcd.io",),
        ("OCIRepository",),
        ("spec",),
        Shape.OCI_SOURCE,
    ),
    Site(
        SiteKind.COMPOSE,
        (),
        (),
        ("services", ANY, "image"),
        Shape.REF,
        file_pattern=COMPOSE_FILES,
    ),
    # last: what Renovate's kubernetes manager sees in any object (CRDs such as EnvoyProxy);
    # a scalar already claimed by a row above keeps that row's kind
    Site(SiteKind.KUBERNETES_IMAGE, (ANY_GROUP,), (ANY_GROUP,), (DEEP,), Shape.IMAGE_STRINGS),
)
"""Every place detection looks, in order: the first row to claim a scalar names its kind."""
