"""YAML loading for the flux package: tolerant of custom tags, bounded in size.

Until ``bot.manifests.yamlload`` lands this is the loader :func:`bot.flux.objects.parse_tree` uses.
``load_rendered`` reads kustomize/helm output (plain YAML) with the fast C loader when present.
"""

from __future__ import annotations

import warnings
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.representer import SafeRepresenter

from bot.errors import ManifestError

MAX_BYTES = 4 * 1024 * 1024


class _TolerantConstructor(SafeConstructor):
    """Safe constructor that reads unknown tags (``!env_var`` ...) as their plain value."""


def _unknown_tag(loader: Any, suffix: str, node: Any) -> Any:
    if node.id == "scalar":
        return loader.construct_scalar(node)
    if node.id == "sequence":
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _value_tag(loader: Any, node: Any) -> Any:
    return loader.construct_scalar(node)


_TolerantConstructor.add_multi_constructor("!", _unknown_tag)
_TolerantConstructor.add_constructor("tag:yaml.org,2002:value", _value_tag)


def _yaml(pure: bool) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    yaml.Constructor = _TolerantConstructor
    yaml.allow_duplicate_keys = True
    return yaml


def load_documents(text: str, path: str) -> list[Any]:
    """Every document of ``text`` (``None`` for empty ones dropped); errors name ``path``."""
    if len(text) > MAX_BYTES:
        raise ManifestError(f"{path}: file larger than {MAX_BYTES} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                docs = list(_yaml(pure=False).load_all(text.lstrip("\ufeff")))
            except Exception:  # the C parser refuses duplicate anchors; the pure one copes
                docs = list(_yaml(pure=True).load_all(text.lstrip("\ufeff")))
    except Exception as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ManifestError(f"{path}:{where} invalid YAML: {problem}") from None
    return [d for d in docs if d is not None]


def load_rendered(text: str, what: str) -> list[Any]:
    """Documents of kustomize/helm output."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                docs = list(_yaml(pure=False).load_all(text))
            except Exception:
                docs = list(_yaml(pure=True).load_all(text))
    except Exception as exc:
        raise ManifestError(f"{what}: rendered output is not YAML: {type(exc).__name__}") from None
    return [d for d in docs if d is not None]


class _Representer(SafeRepresenter):
    """Multi-line strings as literal blocks, so diffs of embedded files read line by line."""


def _str(rep: Any, data: str) -> Any:
    style = "|" if "\n" in data.rstrip("\n") else None
    return rep.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Representer.add_representer(str, _str)


def dump_yaml(obj: Any) -> str:
    """Block-style YAML of plain data with sorted keys (stable output for diffs)."""
    from io import StringIO

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
