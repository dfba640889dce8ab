"""Find every image reference in a repository tree, with the exact spans to edit.

Detection follows the :data:`bot.core.manifests.sites.SITES` table; ``$imagepolicy`` setter markers
are found anywhere and attached to the reference they sit on (or make a :attr:`SiteKind.MARKER`
reference of their own). Files that cannot hold a reference (no ``image``, ``OCIRepository``
text) are not parsed at all, which keeps a 450-file repository well under half a second::

    >>> found = scan({"app.yaml": "kind: Pod\\napiVersion: v1\\nspec:\\n  containers:\\n"
    ...               "    - image: nginx:1.25\\n"})
    >>> ref = found.refs[0]
    >>> ref.kind, ref.image, ref.tag, ref.line, ref.spans[0].start
    (<SiteKind.CONTAINER: 'container'>, 'nginx', '1.25', 5, 58)

Values that are templated (``${VAR}``, ``{{ .Values.x }}``), untagged or not a valid reference
are still returned, with :attr:`ImageRef.unresolved` saying why they cannot be updated.
Spans are character offsets into the ``str`` text (``text[start:end]`` is the scalar as written,
quotes included). A scalar reached twice through an alias gives one reference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Mapping as AbcMapping

from bot.core.errors import ManifestError
from bot.core.manifests import renovate
from bot.core.manifests.extract import extract, follow, is_templated, scalar_at, split_tag
from bot.core.manifests.refs import Discovery, ImageRef, Span
from bot.core.manifests.setters import TOKEN, Field, Marker, find_markers
from bot.core.manifests.sites import ANY_GROUP, COMPOSE_FILES, SITES, Role, Site, SiteKind
from bot.core.manifests.yamlload import Mapping, Node, compose_documents
from bot.core.reference import InvalidReference, parse

__all__ = ["Discovery", "ImageRef", "Span", "may_hold_reference", "scan", "scan_text"]

Owner = Callable[[str], str | None]


def may_hold_reference(text: str) -> bool:
    """Cheap text test: can this file hold any reference the table or a marker finds?"""
    lowered = text.lower()
    return "image" in lowered or "ocirepository" in lowered or renovate.MARK in lowered


def scan(tree: AbcMapping[str, str], owner: Owner | None = None) -> Discovery:
    """Every image reference in ``tree`` (path -> text); a broken file is reported, not fatal."""
    refs: list[ImageRef] = []
    errors: list[str] = []
    parsed = 0
    for path in sorted(tree):
        text = tree[path]
        if not may_hold_reference(text):
            continue
        parsed += 1
        try:
            found = scan_text(text, path)
        except ManifestError as exc:
            errors.append(str(exc))
            continue
        if found and owner is not None:
            kustomization = owner(path)
            if kustomization is not None:
                found = [dataclasses.replace(r, kustomization=kustomization) for r in found]
        refs.extend(found)
    return Discovery(tuple(refs), tuple(errors), parsed)


def scan_text(text: str, path: str) -> list[ImageRef]:
    """Every image reference in one file; raises :class:`ManifestError` if it is not YAML."""
    docs = compose_documents(text, path)
    base = path.rsplit("/", 1)[-1]
    # annotated scalars first: the comment names the image, whatever row also reads the scalar
    refs: list[ImageRef] = [
        dataclasses.replace(r, object_kind=_object_kind(docs[r.doc], path))
        for r in renovate.image_refs(renovate.find(text, path, docs))
    ]
    for index, root in enumerate(docs):
        if not isinstance(root, Mapping):
            continue
        kind = _object_kind(root, path)
        for site in _sites_for(root, path, base):
            for node, where in follow(root, site.path, ""):
                for ref in extract(site, node, where, path, index):
                    refs.append(dataclasses.replace(ref, object_kind=kind))
    refs = _dedupe(refs)
    if TOKEN in text:
        refs = _with_markers(refs, find_markers(text, docs), path)
    return refs


def _object_kind(root: Node, path: str) -> str | None:
    """``group/Kind`` of a document (``Kind`` for the core group), ``compose`` for a compose
    file, None when it has no kind."""
    if not isinstance(root, Mapping):
        return None
    api = scalar_at(root, "apiVersion")
    kind = scalar_at(root, "kind")
    if kind is None:
        return "compose" if COMPOSE_FILES.search(path) else None
    group = "" if api is None or "/" not in api else api.rsplit("/", 1)[0]
    return f"{group}/{kind}" if group else kind


# --- which rows apply ---------------------------------------------------------------------

_BY_KIND: dict[tuple[str, str], list[Site]] = {}
_BY_FILE: list[Site] = [s for s in SITES if s.files or s.file_pattern]
_ANY_OBJECT: list[Site] = [s for s in SITES if ANY_GROUP in s.groups]
for _site in SITES:
    for _group in _site.groups:
        for _kind in _site.kinds:
            _BY_KIND.setdefault((_group, _kind), []).append(_site)


def _sites_for(root: Mapping, path: str, base: str) -> list[Site]:
    api = scalar_at(root, "apiVersion")
    kind = scalar_at(root, "kind")
    group = "" if api is None or "/" not in api else api.rsplit("/", 1)[0]
    found: list[Site] = []
    if kind is not None and api is not None:
        found.extend(s for s in _BY_KIND.get((group, kind), ()) if not s.files)
    for site in _BY_FILE:
        if site.file_pattern is not None:  # compose files: no apiVersion, no kind
            if api is None and kind is None and site.for_file(path):
                found.append(site)
            continue
        in_group = api is None or group in site.groups
        if base in site.files and in_group and (kind is None or kind in site.kinds):
            found.append(site)
    if kind is not None and api is not None:
        found.extend(_ANY_OBJECT)
    return found


# --- markers and duplicates ---------------------------------------------------------------

_ROLE_OF_FIELD = {
    Field.IMAGE: Role.REF,
    Field.TAG: Role.TAG,
    Field.NAME: Role.NAME,
    Field.DIGEST: Role.DIGEST,
}


def _dedupe(refs: list[ImageRef]) -> list[ImageRef]:
    seen: set[tuple[int, int]] = set()
    out: list[ImageRef] = []
    for ref in refs:
        keys = {(s.start, s.end) for s in ref.spans if s.role is not Role.NAME}
        if keys & seen:
            continue
        seen |= keys
        out.append(ref)
    return out


def _with_markers(refs: list[ImageRef], markers: list[Marker], file: str) -> list[ImageRef]:
    by_span = {(s.start, s.end): i for i, r in enumerate(refs) for s in r.spans}
    out = list(refs)
    groups: dict[tuple[int, str, tuple[str | int, ...]], list[Marker]] = {}
    for marker in markers:
        index = by_span.get((marker.start, marker.end))
        if index is None:
            groups.setdefault((marker.doc, marker.policy, marker.path[:-1]), []).append(marker)
            continue
        ref = out[index]
        role = _ROLE_OF_FIELD[marker.field]
        spans = tuple(
            dataclasses.replace(s, role=role)
            if (s.start, s.end) == (marker.start, marker.end)
            else s
            for s in ref.spans
        )
        out[index] = dataclasses.replace(ref, marker=marker.policy, spans=spans)
    for (doc, policy, parent), group in groups.items():
        out.append(_marker_ref(file, doc, policy, parent, group))
    return out


def _marker_ref(
    file: str, doc: int, policy: str, parent: tuple[str | int, ...], group: list[Marker]
) -> ImageRef:
    spans: list[Span] = []
    image, tag, digest = "", None, None
    unresolved = None
    for m in group:
        role = _ROLE_OF_FIELD[m.field]
        spans.append(Span(role, m.start, m.end, m.style, m.flow, m.value, m.line + 1))
        if is_templated(m.value):
            unresolved = "templated value"
        elif role is Role.REF:
            try:
                parsed = parse(m.value)
            except InvalidReference as exc:
                unresolved = f"invalid reference: {exc}"
            else:
                image, tag, digest = parsed.name, parsed.tag, parsed.digest
        elif role is Role.NAME:
            image = m.value
        elif role is Role.TAG:
            tag, pinned = split_tag(m.value)
            digest = digest or pinned
        else:
            digest = m.value
    where = ".".join(f"[{p}]" if isinstance(p, int) else p for p in parent).replace(".[", "[")
    main = next((m for m in group if m.field in (Field.TAG, Field.IMAGE)), group[0])
    return ImageRef(
        file, doc, main.line + 1, SiteKind.MARKER, where, image, tag, digest, tuple(spans),
        policy, None, unresolved,
    )  # fmt: skip
