"""Flux setter markers: find ``{"$imagepolicy": "ns:name[:tag|:name|:digest]"}`` and apply them.

Same rules as Flux's image-automation-controller (kyaml ``setters2`` with the ``$imagepolicy``
short-hand), but the new values are spliced into the original text instead of re-serialising
the file, so every byte outside the replaced scalars is preserved::

    >>> apply('image: app:1.0 # {"$imagepolicy": "flux-system:app"}\\n',
    ...       {"flux-system:app": {"image": "app", "tag": "1.1"}})
    'image: app:1.1 # {"$imagepolicy": "flux-system:app"}\\n'

The rules, as Flux has them:

- only files containing the token ``"$imagepolicy"`` are looked at;
- a marker is the line comment of a scalar that is a mapping value or a sequence item (or,
  without a line comment, its head comment: the single comment line right above a sequence
  item); the comment with its leading ``#`` removed must be a JSON object of strings with a
  non-empty ``$imagepolicy`` (go ``json.Unmarshal`` into ``map[string]string``);
- the setter names are ``<namespace>:<name>`` (writes ``name:tag[@digest]``) and the same with
  ``:tag``, ``:name`` and ``:digest``; a marker naming anything else (no namespace, an unknown
  policy, another suffix) is left alone;
- a value equal to the new one is not touched; a plain value that YAML 1.1 would read as a
  number, boolean or null is double-quoted; quoted values keep their quotes;
- a marker inside a block scalar is text, not a comment.

Departure: a ``:digest`` marker whose policy has no digest in ``results`` is left alone rather
than blanked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.core.manifests.scalars import render, splice
from bot.core.manifests.yamlload import Node, Scalar, Sequence, compose_documents

__all__ = ["TOKEN", "Field", "Marker", "apply", "find_markers", "parse_marker", "setter_value"]

TOKEN = '"$imagepolicy"'
"""Flux screens files for this exact token before parsing them."""
SHORTHAND = "$imagepolicy"


class Field(StrEnum):
    """What part of the latest image a marker writes."""

    IMAGE = "image"  # name:tag[@digest]
    TAG = "tag"
    NAME = "name"
    DIGEST = "digest"


@dataclass(frozen=True)
class Marker:
    """A marked scalar: the policy (``ns:name``), the field it takes, and the scalar itself."""

    policy: str
    field: Field
    doc: int
    start: int
    end: int
    line: int
    value: str
    style: str
    flow: bool
    path: tuple[str | int, ...]


def parse_marker(comment: str) -> tuple[str, Field] | None:
    """``("ns:name", field)`` for a marker comment (text after ``#``), else ``None``.

    Only well-formed setter names qualify: a namespace and a name, optionally one suffix.
    """
    setter = _setter_name(comment)
    if setter is None:
        return None
    parts = setter.split(":")
    if len(parts) == 2 and all(parts):
        return setter, Field.IMAGE
    if len(parts) == 3 and parts[0] and parts[1] and parts[2] in ("tag", "name", "digest"):
        return f"{parts[0]}:{parts[1]}", Field(parts[2])
    return None


def _setter_name(comment: str) -> str | None:
    body = comment.lstrip("#")
    if SHORTHAND not in body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None  # go: json.Unmarshal into map[string]string fails
    name = data.get(SHORTHAND, "")
    return name or None


def setter_value(result: Mapping[str, str], field: Field) -> str | None:
    """The value Flux writes for ``field`` given a policy's latest ref, or ``None`` if unknown."""
    image, tag, digest = result.get("image", ""), result.get("tag", ""), result.get("digest", "")
    if field is Field.TAG:
        return tag or None
    if field is Field.NAME:
        return image or None
    if field is Field.DIGEST:
        return digest or None
    if not image or not tag:
        return None
    return f"{image}:{tag}@{digest}" if digest else f"{image}:{tag}"


def _line_comment(text: str, end: int) -> str | None:
    eol = text.find("\n", end)
    rest = text[end : len(text) if eol < 0 else eol].rstrip("\r")
    stripped = rest.lstrip(" \t")
    if stripped.startswith("#") and len(stripped) < len(rest):
        return stripped
    return None


def _head_comment(text: str, start: int, blocks: list[tuple[int, int]]) -> str | None:
    """The single comment line directly above a sequence item starting its line with ``- ``."""
    bol = text.rfind("\n", 0, start) + 1
    if text[bol:start].strip(" \t") != "-":
        return None
    if bol == 0:
        return None
    prev_bol = text.rfind("\n", 0, bol - 1) + 1
    line = text[prev_bol : bol - 1].rstrip("\r").strip(" \t")
    if not line.startswith("#"):
        return None
    if any(s <= prev_bol < e for s, e in blocks):
        return None  # inside a block scalar: text, not a comment
    if prev_bol > 0:
        before_bol = text.rfind("\n", 0, prev_bol - 1) + 1
        if text[before_bol : prev_bol - 1].strip(" \t\r").startswith("#"):
            return None  # a multi-line head comment is not a JSON object
    return line


def _multiline_spans(node: Node, out: list[tuple[int, int]], seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Scalar):
        if node.style in ("|", ">") or node.value.count("\n") or node.end - node.start > 4096:
            out.append((node.start, node.end))
    elif isinstance(node, Sequence):
        for item in node.items:
            _multiline_spans(item, out, seen)
    else:
        for key, value in node.pairs:
            _multiline_spans(key, out, seen)
            _multiline_spans(value, out, seen)


def find_markers(text: str, docs: list[Node] | None = None) -> list[Marker]:
    """Every setter marker in ``text`` (parsed again unless ``docs`` are given)."""
    if TOKEN not in text:
        return []
    if docs is None:
        docs = compose_documents(text, "<manifest>")
    found: list[Marker] = []
    for index, root in enumerate(docs):
        blocks: list[tuple[int, int]] = []
        _multiline_spans(root, blocks, set())
        seen: set[int] = set()
        for scalar, flow, in_seq, path in _values(root, False, False, (), seen):
            if scalar.style in ("|", ">") or "\n" in text[scalar.start : scalar.end]:
                continue
            if scalar.start == scalar.end:  # an empty value: nothing to set
                continue
            comment = _line_comment(text, scalar.end)
            if comment is None and in_seq:
                comment = _head_comment(text, scalar.start, blocks)
            if comment is None:
                continue
            parsed = parse_marker(comment)
            if parsed is None:
                continue
            found.append(
                Marker(
                    parsed[0],
                    parsed[1],
                    index,
                    scalar.start,
                    scalar.end,
                    scalar.line,
                    scalar.value,
                    scalar.style,
                    flow,
                    path,
                )
            )
    return found


def _values(
    node: Node, flow: bool, in_seq: bool, path: tuple[str | int, ...], seen: set[int]
) -> Iterator[tuple[Scalar, bool, bool, tuple[str | int, ...]]]:
    """Scalars that are mapping values or sequence items, as kyaml's setter walk visits them."""
    if id(node) in seen:  # an alias: the anchored node was visited already
        return
    seen.add(id(node))
    if isinstance(node, Scalar):
        yield node, flow, in_seq, path
    elif isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            yield from _values(item, node.flow, True, (*path, i), seen)
    else:
        for key, value in node.pairs:
            name: str | int = key.value if isinstance(key, Scalar) else "?"
            yield from _values(value, node.flow, False, (*path, name), seen)


def apply(text: str, results: Mapping[str, Mapping[str, str]]) -> str:
    """Apply every ``$imagepolicy`` marker of ``text`` whose policy is in ``results``.

    ``results`` maps ``"namespace:name"`` to ``{"image", "tag", "digest"?}`` (an ImagePolicy's
    latestRef). Raises :class:`~bot.core.errors.ManifestError` if a file with markers is not YAML.
    """
    edits: list[tuple[int, int, str]] = []
    for marker in find_markers(text):
        result = results.get(marker.policy)
        if result is None:
            continue
        new = setter_value(result, marker.field)
        if new is None or new == marker.value:
            continue
        edits.append((marker.start, marker.end, render(new, marker.style, flow=marker.flow)))
    return splice(text, edits)
