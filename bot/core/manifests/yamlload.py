"""Read YAML the way real Flux repositories need it: fast, position-aware, with hard limits.

libyaml (through ``ruamel.yaml.clib``'s C parser) does the scanning and parsing; this module
composes its events into light nodes that remember where each scalar sits in the text (character
offsets into the ``str`` given, so a splice is ``text[:start] + new + text[end:]``), then, for
:func:`load_documents`, into plain Python data. Handles multi-document files, anchors and
aliases (including an anchor defined twice: the later definition wins, as YAML 1.2 says), merge
keys ``<<``, custom tags such as ``!env_var`` (the value is kept), a BOM and CRLF line ends.
Refuses oversized files and alias bombs (the node count with every alias expanded is capped)
with a :class:`~bot.core.errors.ManifestError` naming the file and the document.

    >>> load_documents("a: &x [1, 2]\\nb: *x\\n---\\nc: !env_var HOME\\n", "demo.yaml")
    [{'a': [1, 2], 'b': [1, 2]}, {'c': 'HOME'}]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from _ruamel_yaml import CParser  # type: ignore[import-not-found]  # libyaml, via ruamel.yaml.clib
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from bot.core.errors import ManifestError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "Mapping",
    "Node",
    "Scalar",
    "Sequence",
    "compose_documents",
    "load_documents",
    "resolve_plain",
]

MAX_BYTES = 5 * 1024 * 1024
"""Largest manifest (in characters of text) we agree to parse."""
MAX_EXPANDED_NODES = 250_000
"""Largest document, counted in nodes with every alias expanded (alias-bomb guard)."""
MAX_DEPTH = 200
"""Deepest nesting of collections accepted."""

_BOM = "\ufeff"


class Scalar:
    """A scalar with its value, tag, style (``''`` plain, ``'"'``, ``"'"``, ``'|'``, ``'>'``),
    its character span ``[start, end)`` in the source text (quotes included) and 0-based line."""

    __slots__ = ("end", "flow", "line", "plain_implicit", "start", "style", "tag", "value")

    def __init__(
        self,
        value: str,
        tag: str | None,
        style: str,
        plain_implicit: bool,
        start: int,
        end: int,
        line: int,
        flow: bool = False,
    ) -> None:
        self.value = value
        self.tag = tag
        self.style = style
        self.plain_implicit = plain_implicit
        self.start = start
        self.end = end
        self.line = line
        self.flow = flow  # inside a flow collection, where plain scalars are more restricted


class Sequence:
    """A sequence node: ``items`` in order; ``flow`` for ``[a, b]`` style."""

    __slots__ = ("end", "flow", "items", "line", "start", "tag")

    def __init__(self, tag: str | None, flow: bool, start: int, line: int) -> None:
        self.tag = tag
        self.flow = flow
        self.items: list[Node] = []
        self.start = start
        self.end = start
        self.line = line


class Mapping:
    """A mapping node: ``pairs`` of (key node, value node) in source order."""

    __slots__ = ("end", "flow", "line", "pairs", "start", "tag")

    def __init__(self, tag: str | None, flow: bool, start: int, line: int) -> None:
        self.tag = tag
        self.flow = flow
        self.pairs: list[tuple[Node, Node]] = []
        self.start = start
        self.end = start
        self.line = line


Node = Scalar | Sequence | Mapping


class _Composer:
    """Turns libyaml events into nodes, counting expanded size to refuse alias bombs."""

    def __init__(self, text: str, path: str, max_expanded: int, pure: bool = False) -> None:
        self.path = path
        self.text = text
        self.max_expanded = max_expanded
        self.parser: Any
        if pure:  # ruamel's own YAML 1.2 parser: slower, a little more permissive
            self.parser = _Events(YAML(typ="safe", pure=True).parse(text))
            self.offset = 0
        else:  # libyaml marks do not count a leading BOM
            self.parser = CParser(text)
            self.offset = 1 if text.startswith(_BOM) else 0
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.doc = 0
        self.depth = 0
        self.flow = 0

    def error(self, problem: str, line: int | None = None) -> ManifestError:
        where = f", line {line + 1}" if line is not None else ""
        return ManifestError(f"{self.path}: document {self.doc + 1}{where}: {problem}")

    def documents(self) -> Iterator[Node]:
        get = self.parser.get_event
        get()  # StreamStart
        while True:
            event = get()
            if type(event) is StreamEndEvent:
                return
            self.anchors = {}
            node, _ = self.node()
            end = get()
            if type(end) is not DocumentEndEvent:  # pragma: no cover - parser guarantees it
                raise self.error("malformed document")
            yield node
            self.doc += 1

    def node(self) -> tuple[Node, int]:
        event = self.parser.get_event()
        cls = type(event)
        mark = event.start_mark
        start = mark.index + self.offset
        if cls is ScalarEvent:
            line = mark.line
            if event.anchor is not None or event.tag is not None:
                # libyaml's mark starts at the properties (&anchor, !tag): skip them
                start, line = _skip_properties(self.text, start, line)
            node: Node = Scalar(
                event.value,
                event.tag,
                event.style or "",
                event.implicit[0],
                start,
                event.end_mark.index + self.offset,
                line,
                self.flow > 0,
            )
            size = 1
        elif cls is AliasEvent:
            try:
                return self.anchors[event.anchor]
            except KeyError:
                raise self.error(f"undefined alias *{event.anchor}", mark.line) from None
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"nesting deeper than {MAX_DEPTH}", mark.line)
            size = 1
            check = self.parser.check_event
            flow = bool(event.flow_style)
            self.flow += flow
            if cls is MappingStartEvent:
                mapping = Mapping(event.tag, flow, start, mark.line)
                while not check(MappingEndEvent):
                    key, ksize = self.node()
                    value, vsize = self.node()
                    mapping.pairs.append((key, value))
                    size += ksize + vsize
                node = mapping
            else:
                seq = Sequence(event.tag, flow, start, mark.line)
                while not check(SequenceEndEvent):
                    item, isize = self.node()
                    seq.items.append(item)
                    size += isize
                node = seq
            node.end = self.parser.get_event().end_mark.index + self.offset
            self.depth -= 1
            self.flow -= flow
            if size > self.max_expanded:
                raise self.error(
                    f"more than {self.max_expanded} nodes once aliases are expanded (alias bomb?)",
                    mark.line,
                )
        else:  # pragma: no cover - parser guarantees a node here
            raise self.error(f"unexpected {cls.__name__}", mark.line)
        if event.anchor is not None:
            # registered only once complete: an alias inside its own anchor is "undefined",
            # so recursive structures cannot be built
            self.anchors[event.anchor] = (node, size)
        return node, size


class _Events:
    """The C parser's event interface over ruamel's pure-Python event generator."""

    def __init__(self, events: Iterator[Any]) -> None:
        self.events = events
        self.next: Any = None

    def get_event(self) -> Any:
        event = self.peek_event()
        self.next = None
        return event

    def peek_event(self) -> Any:
        if self.next is None:
            self.next = next(self.events)
        return self.next

    def check_event(self, *choices: type) -> bool:
        return isinstance(self.peek_event(), choices)


def _skip_properties(text: str, pos: int, line: int) -> tuple[int, int]:
    """Position (and 0-based line) of a scalar's content after its ``&anchor``/``!tag``."""
    size = len(text)
    while pos < size:
        ch = text[pos]
        if ch in "&!":
            while pos < size and text[pos] not in " \t\r\n":
                pos += 1
        elif ch in " \t\r":
            pos += 1
        elif ch == "\n":
            pos += 1
            line += 1
        elif ch == "#":
            while pos < size and text[pos] != "\n":
                pos += 1
        else:
            break
    return pos, line


def compose_documents(
    text: str, path: str, *, max_expanded: int = MAX_EXPANDED_NODES
) -> list[Node]:
    """Parse ``text`` into one node tree per document (an empty document is a plain ``''``)."""
    if len(text) > MAX_BYTES:
        raise ManifestError(f"{path}: {len(text)} characters exceeds the {MAX_BYTES} limit")
    try:
        return list(_Composer(text, path, max_expanded).documents())
    except (YAMLError, UnicodeError):
        # libyaml is YAML 1.1 and refuses a few things go-yaml and ruamel accept (such as
        # ``{image: nginx:1.25}``): give the pure YAML 1.2 parser a chance before failing
        pass
    composer = _Composer(text, path, max_expanded, pure=True)
    try:
        return list(composer.documents())
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise composer.error(str(problem), line) from None
    except (YAMLError, UnicodeError) as exc:
        raise composer.error(str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None


# YAML 1.2 core schema (what ruamel.yaml and go-yaml v3 resolve plain scalars to)
_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = frozenset((".nan", ".NaN", ".NAN"))
_CORE = "tag:yaml.org,2002:"


def resolve_plain(value: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema (null, bool, int, float, str)."""
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    first = value[0]
    if first in "-+.0123456789":
        if _INT.fullmatch(value):
            if value.startswith("0o"):
                return int(value[2:], 8)
            return int(value, 16) if value.startswith("0x") else int(value, 10)
        if _FLOAT.fullmatch(value):
            return float(value)
        if _INF.fullmatch(value):
            return float("-inf") if first == "-" else float("inf")
        if value in _NAN:
            return float("nan")
    return value


def _scalar(node: Scalar) -> Any:
    tag = node.tag
    if tag is None or tag == "!":
        return resolve_plain(node.value) if node.plain_implicit and tag is None else node.value
    if tag.startswith(_CORE):
        kind = tag[len(_CORE) :]
        if kind in ("int", "float", "bool", "null"):
            resolved = resolve_plain(node.value)
            if kind == "float" and isinstance(resolved, int) and not isinstance(resolved, bool):
                return float(resolved)
            return resolved
    return node.value  # !!str, !!binary, !env_var and any other tag: keep the text


class _Constructor:
    def __init__(self, path: str, doc: int) -> None:
        self.path = path
        self.doc = doc
        self.done: dict[int, Any] = {}

    def build(self, node: Node) -> Any:
        key = id(node)
        if key in self.done:  # aliases share one object, as every YAML loader does
            return self.done[key]
        if isinstance(node, Scalar):
            result: Any = _scalar(node)
        elif isinstance(node, Sequence):
            result = [self.build(item) for item in node.items]
        else:
            result = self.mapping(node)
        self.done[key] = result
        return result

    def mapping(self, node: Mapping) -> dict[Any, Any]:
        merged: dict[Any, Any] = {}
        own: dict[Any, Any] = {}
        for key_node, value_node in node.pairs:
            if isinstance(key_node, Scalar) and key_node.value == "<<" and key_node.plain_implicit:
                sources = value_node.items if isinstance(value_node, Sequence) else [value_node]
                for source in reversed(sources):  # earlier sources win
                    value = self.build(source)
                    if not isinstance(value, dict):
                        raise ManifestError(
                            f"{self.path}: document {self.doc + 1}, line {key_node.line + 1}: "
                            "merge key << needs a mapping or a list of mappings"
                        )
                    merged.update(value)
                continue
            key = self.build(key_node)
            if isinstance(key, list | dict):
                raise ManifestError(
                    f"{self.path}: document {self.doc + 1}, line {key_node.line + 1}: "
                    "a collection used as a mapping key is not supported"
                )
            own[key] = self.build(value_node)  # duplicate keys: the last one wins
        if merged:
            merged.update(own)
            return merged
        return own


def load_documents(text: str, path: str, *, max_expanded: int = MAX_EXPANDED_NODES) -> list[Any]:
    """Plain Python data (dict/list/str/int/float/bool/None) per document of ``text``.

    An empty document gives ``None``, so indexes match document numbers in error messages.
    """
    nodes = compose_documents(text, path, max_expanded=max_expanded)
    return [_Constructor(path, i).build(node) for i, node in enumerate(nodes)]
