"""Renovate-style annotations: a ``# renovate:`` comment naming what the scalar below it pins.

Users already write them for versions no manifest field says is an image (Talos, Kubernetes,
a chart in a CRD)::

    # renovate: datasource=docker depName=ghcr.io/siderolabs/installer
    talosVersion: v1.7.6

The annotated scalar is the next ``key: value`` (or ``- value``) line below the comment, blank and
comment lines skipped. ``datasource=docker`` makes an :class:`ImageRef` (kind
:attr:`SiteKind.ANNOTATION`) whose tag is the scalar, or the whole reference when the scalar reads
``depName:tag``. ``datasource=helm`` (with ``registryUrl``) pins a chart version and is read by
the chart extractor through :func:`find`; any other datasource is a reference that cannot be
updated, with :data:`UNSUPPORTED` as the reason, so ``--json`` lists it::

    >>> text = "# renovate: datasource=docker depName=ghcr.io/x/y\\nversion: v1.2.3\\n"
    >>> (ann,) = find(text, "talos.yaml", compose_documents(text, "talos.yaml"))
    >>> ann.datasource, ann.dep_name, ann.value.value, ann.line
    ('docker', 'ghcr.io/x/y', 'v1.2.3', 2)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from bot.core.manifests.refs import ImageRef, Span
from bot.core.manifests.sites import Role, SiteKind
from bot.core.manifests.yamlload import Mapping, Node, Scalar, Sequence, compose_documents
from bot.core.reference import InvalidReference, parse

__all__ = ["MARK", "UNSUPPORTED", "Annotation", "Datasource", "find", "image_refs"]

MARK = "renovate:"
"""Cheap text test: a file without it has no annotation."""
UNSUPPORTED = "renovate datasource={} is not supported (docker and helm are)"

_COMMENT = re.compile(r"^[ \t]*#[ \t]*renovate:[ \t]*(?P<fields>.*?)[ \t]*$")
_FIELD = re.compile(r"(?P<key>[A-Za-z]+)=(?P<value>\S+)")
_SKIP = re.compile(r"^[ \t]*(#.*)?$")


class Datasource(StrEnum):
    """The datasources fluxbot looks up."""

    DOCKER = "docker"
    HELM = "helm"


@dataclass(frozen=True)
class Annotation:
    """One ``# renovate:`` comment and the scalar it annotates."""

    file: str
    doc: int
    line: int  # 1-based line of the annotated scalar
    comment_line: int  # 1-based
    datasource: str
    dep_name: str
    registry_url: str | None
    value: Scalar
    where: str  # path in the document, e.g. spec.talosVersion

    @property
    def supported(self) -> bool:
        return self.datasource in tuple(Datasource)

    @property
    def span(self) -> Span:
        v = self.value
        return Span(Role.TAG, v.start, v.end, v.style, v.flow, v.value, v.line + 1)


def _scalars(node: Node, where: str) -> Iterator[tuple[Scalar, str]]:
    """Every value scalar under ``node`` with its path (keys are not values)."""
    if isinstance(node, Scalar):
        yield node, where
    elif isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            yield from _scalars(item, f"{where}[{i}]")
    elif isinstance(node, Mapping):
        for key, value in node.pairs:
            name = key.value if isinstance(key, Scalar) else "?"
            yield from _scalars(value, f"{where}.{name}" if where else name)


def find(text: str, path: str, docs: list[Node] | None = None) -> list[Annotation]:
    """Every annotation of ``text`` whose next line holds a value scalar."""
    if MARK not in text:
        return []
    lines = text.splitlines()
    wanted: dict[int, tuple[int, dict[str, str]]] = {}  # 0-based value line -> comment, fields
    for number, line in enumerate(lines):
        match = _COMMENT.match(line)
        if match is None:
            continue
        fields = {m["key"]: m["value"] for m in _FIELD.finditer(match["fields"])}
        if "datasource" not in fields or "depName" not in fields:
            continue
        target = number + 1
        while target < len(lines) and _SKIP.match(lines[target]):
            target += 1
        wanted[target] = (number, fields)
    if not wanted:
        return []
    found: list[Annotation] = []
    for index, root in enumerate(compose_documents(text, path) if docs is None else docs):
        for scalar, where in _scalars(root, ""):
            hit = wanted.pop(scalar.line, None)
            if hit is None or scalar.style in ("|", ">") or scalar.value == "":
                continue
            comment, fields = hit
            found.append(
                Annotation(
                    path,
                    index,
                    scalar.line + 1,
                    comment + 1,
                    fields["datasource"],
                    fields["depName"],
                    fields.get("registryUrl"),
                    scalar,
                    where,
                )
            )
    return found


def _image_ref(ann: Annotation) -> ImageRef:
    unresolved = None if ann.supported else UNSUPPORTED.format(ann.datasource)
    value = ann.value.value
    image, digest = ann.dep_name, None
    tag_or_none: str | None = value
    span = ann.span
    if value.startswith(f"{ann.dep_name}:") or value.startswith(f"{ann.dep_name}@"):
        span = Span(Role.REF, span.start, span.end, span.style, span.flow, value, span.line)
        try:
            parsed = parse(value)
        except InvalidReference as exc:
            unresolved = f"invalid reference: {exc}"
        else:
            tag_or_none, digest = parsed.tag, parsed.digest
    elif "${" in value or "{{" in value:
        unresolved = "templated value"
    else:
        try:
            parse(f"{ann.dep_name}:{value}")
        except InvalidReference as exc:
            unresolved = f"invalid reference: {exc}"
    return ImageRef(
        ann.file,
        ann.doc,
        ann.line,
        SiteKind.ANNOTATION,
        ann.where,
        image,
        tag_or_none,
        digest,
        (span,),
        unresolved=unresolved,
    )


def image_refs(annotations: list[Annotation]) -> list[ImageRef]:
    """The references of the docker annotations, and of unsupported ones (to be reported);
    helm annotations are charts, not images."""
    return [_image_ref(a) for a in annotations if a.datasource != Datasource.HELM]
