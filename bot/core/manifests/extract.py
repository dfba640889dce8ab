"""Shapes: how to read an image reference out of the node a site's path leads to.

Used by :mod:`bot.core.manifests.scan`; each function turns nodes into :class:`ImageRef` values with
the spans of the scalars to rewrite. ``where`` is the human-readable path in the document.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from bot.core.manifests.refs import ImageRef, Span
from bot.core.manifests.sites import ANY, DEEP, Role, Shape, Site, SiteKind, Step
from bot.core.manifests.yamlload import Mapping, Node, Scalar, Sequence, resolve_plain
from bot.core.reference import InvalidReference, parse

__all__ = ["extract", "follow", "get", "is_templated", "items", "scalar_at", "split_tag"]


def items(node: Mapping) -> list[tuple[str, Node]]:
    """Key/value pairs with ``<<`` merges expanded (explicit keys win, earlier merges win)."""
    explicit: list[tuple[str, Node]] = []
    merged: list[tuple[str, Node]] = []
    for key, value in node.pairs:
        if not isinstance(key, Scalar):
            continue
        if key.value == "<<" and key.plain_implicit and key.tag is None:
            sources = value.items if isinstance(value, Sequence) else [value]
            for source in sources:
                if isinstance(source, Mapping):
                    merged.extend(items(source))
            continue
        explicit.append((key.value, value))
    if not merged:
        return explicit
    seen = {k for k, _ in explicit}
    out = list(explicit)
    for key_name, value in merged:
        if key_name not in seen:
            seen.add(key_name)
            out.append((key_name, value))
    return out


def get(node: Node, key: str) -> Node | None:
    if not isinstance(node, Mapping):
        return None
    found = None
    for name, value in items(node):
        if name == key:
            found = value  # duplicate keys: the last one wins
    return found


def scalar_at(node: Mapping, key: str) -> str | None:
    value = get(node, key)
    return value.value if isinstance(value, Scalar) else None


def follow(node: Node, steps: tuple[Step, ...], where: str) -> Iterator[tuple[Node, str]]:
    if not steps or steps[0] is DEEP:
        yield node, where
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        child = get(node, step)
        if child is not None:
            yield from follow(child, rest, f"{where}.{step}" if where else step)
    elif isinstance(step, frozenset):
        if isinstance(node, Mapping):
            for name, child in items(node):
                if name in step:
                    yield from follow(child, rest, f"{where}.{name}" if where else name)
    elif step is ANY:
        if isinstance(node, Sequence):
            for i, child in enumerate(node.items):
                yield from follow(child, rest, f"{where}[{i}]")
        elif isinstance(node, Mapping):
            for name, child in items(node):
                yield from follow(child, rest, f"{where}.{name}")


def is_templated(value: str) -> bool:
    return "${" in value or "{{" in value


def _span(role: Role, node: Scalar) -> Span:
    return Span(role, node.start, node.end, node.style, node.flow, node.value, node.line + 1)


def _usable(node: Node | None) -> Scalar | None:
    """A scalar we can read and rewrite in place (not a block scalar, not empty)."""
    if isinstance(node, Scalar) and node.style not in ("|", ">") and node.value != "":
        return node
    return None


def split_tag(value: str) -> tuple[str | None, str | None]:
    tag, at, digest = value.partition("@")
    return (tag or None), (digest if at and digest else None)


def _make(
    site_kind: SiteKind,
    file: str,
    doc: int,
    where: str,
    spans: list[Span],
    image: str,
    tag: str | None,
    digest: str | None,
    raw: list[str],
    text_of_ref: str | None = None,
) -> ImageRef:
    unresolved = None
    if text_of_ref is not None:
        image = text_of_ref  # as written, until it parses
    if any(is_templated(v) for v in raw):
        unresolved = "templated value"
    elif text_of_ref is not None:
        try:
            parsed = parse(text_of_ref)
        except InvalidReference as exc:
            unresolved = f"invalid reference: {exc}"
        else:
            image, tag, digest = parsed.name, parsed.tag, parsed.digest
    if unresolved is None and tag is None and digest is None:
        unresolved = "no tag"
    main = next((s for s in spans if s.role in (Role.TAG, Role.REF)), spans[0])
    return ImageRef(
        file,
        doc,
        main.line,
        site_kind,
        where,
        image,
        tag,
        digest,
        tuple(spans),
        None,
        None,
        unresolved,
    )


def _ref_string(site_kind: SiteKind, node: Scalar, file: str, doc: int, where: str) -> ImageRef:
    spans = [_span(Role.REF, node)]
    return _make(site_kind, file, doc, where, spans, "", None, None, [node.value], node.value)


def extract(site: Site, node: Node, where: str, file: str, doc: int) -> Iterator[ImageRef]:
    if site.shape is Shape.REF:
        scalar = _usable(node)
        if scalar is not None:
            yield _ref_string(site.kind, scalar, file, doc, where)
    elif site.shape is Shape.KUSTOMIZE_ENTRY:
        if isinstance(node, Mapping):
            ref = _kustomize_entry(site.kind, node, file, doc, where)
            if ref is not None:
                yield ref
    elif site.shape is Shape.OCI_SOURCE:
        if isinstance(node, Mapping):
            ref = _oci_source(node, file, doc, where)
            if ref is not None:
                yield ref
    elif site.shape is Shape.HELM_VALUES:
        yield from _helm_values(node, file, doc, where, set())
    elif site.shape is Shape.IMAGE_STRINGS:
        yield from _image_strings(node, file, doc, where, set())


def _tagged(
    kind: SiteKind,
    file: str,
    doc: int,
    where: str,
    name_node: Scalar | None,
    image: str,
    tag_node: Scalar | None,
    digest_node: Scalar | None,
) -> ImageRef | None:
    """A reference split over name / tag / digest scalars."""
    if tag_node is None and digest_node is None:
        return None
    spans: list[Span] = []
    raw = [image]
    tag = digest = None
    if tag_node is not None:
        spans.append(_span(Role.TAG, tag_node))
        raw.append(tag_node.value)
        tag, digest = split_tag(tag_node.value)
    if digest_node is not None:
        spans.append(_span(Role.DIGEST, digest_node))
        raw.append(digest_node.value)
        digest = digest_node.value
    if name_node is not None:
        spans.append(_span(Role.NAME, name_node))
    ref = _make(kind, file, doc, where, spans, image, tag, digest, raw)
    if ref.unresolved is None:
        try:
            parse(ref.value)
        except InvalidReference as exc:
            return dataclasses.replace(ref, unresolved=f"invalid reference: {exc}")
    return ref


def _kustomize_entry(
    kind: SiteKind, node: Mapping, file: str, doc: int, where: str
) -> ImageRef | None:
    name = _usable(get(node, "name"))
    new_name = _usable(get(node, "newName"))
    name_node = new_name or name
    if name_node is None:
        return None
    return _tagged(
        kind,
        file,
        doc,
        where,
        name_node,
        name_node.value,
        _usable(get(node, "newTag")),
        _usable(get(node, "digest")),
    )


def _oci_source(node: Mapping, file: str, doc: int, where: str) -> ImageRef | None:
    url = _usable(get(node, "url"))
    ref = get(node, "ref")
    if url is None or not isinstance(ref, Mapping):
        return None
    image = url.value[len("oci://") :] if url.value.startswith("oci://") else url.value
    found = _tagged(
        SiteKind.OCI_REPOSITORY,
        file,
        doc,
        f"{where}.ref",
        url,
        image,
        _usable(get(ref, "tag")),
        _usable(get(ref, "digest")),
    )
    return found


def _is_image_key(key: str) -> bool:
    return key[-5:].lower() == "image"


def _helm_values(node: Node, file: str, doc: int, where: str, seen: set[int]) -> Iterator[ImageRef]:
    """Renovate's heuristic: under a key ending in ``image``, a string or {repository, tag}."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            yield from _helm_values(item, file, doc, f"{where}[{i}]", seen)
        return
    if not isinstance(node, Mapping):
        return
    for key, value in items(node):
        here = f"{where}.{key}"
        if _is_image_key(key):
            if isinstance(value, Scalar):
                scalar = _usable(value)
                if scalar is not None and (
                    scalar.style or isinstance(resolve_plain(scalar.value), str)
                ):
                    yield _ref_string(SiteKind.HELM_VALUES_IMAGE, scalar, file, doc, here)
                continue
            if isinstance(value, Mapping):
                repository = _usable(get(value, "repository"))
                tag_node = get(value, "tag")
                if repository is not None and isinstance(tag_node, Scalar):
                    registry = _usable(get(value, "registry"))
                    image = repository.value
                    if registry is not None:
                        image = f"{registry.value}/{image}"
                    ref = _tagged(
                        SiteKind.HELM_VALUES_MAP,
                        file,
                        doc,
                        here,
                        repository,
                        image,
                        _usable(tag_node),
                        _usable(get(value, "digest")),
                    )
                    if ref is not None:
                        yield ref
                    continue
        yield from _helm_values(value, file, doc, here, seen)


def _image_strings(
    node: Node, file: str, doc: int, where: str, seen: set[int]
) -> Iterator[ImageRef]:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            yield from _image_strings(item, file, doc, f"{where}[{i}]", seen)
    elif isinstance(node, Mapping):
        for key, value in items(node):
            here = f"{where}.{key}" if where else key
            if key == "image" and isinstance(value, Scalar):
                scalar = _usable(value)
                if scalar is not None and (
                    scalar.style or isinstance(resolve_plain(scalar.value), str)
                ):
                    yield _ref_string(SiteKind.KUBERNETES_IMAGE, scalar, file, doc, here)
            else:
                yield from _image_strings(value, file, doc, here, seen)
