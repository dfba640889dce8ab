"""YAML for the flux package: reading kustomize/helm output, writing objects for diffs.

Reading goes through :mod:`bot.core.manifests.yamlload` (libyaml, custom tags kept as text,
alias-bomb
and depth limits) like every other manifest fluxbot reads; rendered output larger than its
per-text limit is read in runs of whole documents. Writing is block-style YAML with sorted keys
and literal blocks for multi-line strings, so object diffs are stable and read line by line.

    >>> load_rendered("a: 1\n---\nb: [x]\n", "demo")
    [{'a': 1}, {'b': ['x']}]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO
from itertools import pairwise
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.representer import SafeRepresenter

from bot.core.manifests.yamlload import MAX_BYTES, load_documents

_DOC_START = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)


def _runs(text: str, limit: int) -> Iterator[str]:
    """``text`` cut at document markers into pieces of at most ``limit`` characters (when a
    single document is larger, it is one piece and the loader refuses it)."""
    if len(text) <= limit:
        yield text
        return
    starts = [m.start() for m in _DOC_START.finditer(text)]
    bounds = [0, *(s for s in starts if s > 0), len(text)]
    piece_start = 0
    for prev, nxt in pairwise(bounds):
        if nxt - piece_start > limit and prev > piece_start:
            yield text[piece_start:prev]
            piece_start = prev
    yield text[piece_start:]


def load_rendered(text: str, what: str, *, limit: int = MAX_BYTES) -> list[Any]:
    """The documents of kustomize/helm output (empty ones dropped); errors name ``what``."""
    docs: list[Any] = []
    for piece in _runs(text, limit):
        docs.extend(load_documents(piece, what))
    return [d for d in docs if d is not None]


class _Representer(SafeRepresenter):
    """Multi-line strings as literal blocks, so diffs of embedded files read line by line."""


def _str(rep: Any, data: str) -> Any:
    style = "|" if "\n" in data.rstrip("\n") else None
    return rep.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Representer.add_representer(str, _str)


def dump_yaml(obj: Any) -> str:
    """Block-style YAML of plain data with sorted keys (stable output for diffs)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Representer = _Representer
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.allow_unicode = True
    buf = StringIO()
    yaml.dump(_sorted(obj), buf)
    return buf.getvalue()


def _sorted(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _sorted(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, list):
        return [_sorted(v) for v in obj]
    return obj
