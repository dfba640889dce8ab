"""Hide secret values and strip noise before objects are compared or shown.

Secret ``data``/``stringData`` values never leave this module: :func:`mask_secret_pair` replaces
them with markers that still tell whether each key was added, removed or changed. SOPS-encrypted
values (``ENC[AES256_GCM,...]``) anywhere become ``**SOPS**`` and a ``sops:`` block collapses.
:func:`strip_noise` drops annotations and labels that change on every build.

    >>> mask_secret_pair({"kind": "Secret", "apiVersion": "v1", "data": {"a": "eA=="}}, None)[0]
    {'kind': 'Secret', 'apiVersion': 'v1', 'data': {'a': '**MASKED**'}}
"""

from __future__ import annotations

import copy
import fnmatch
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.flux.kustomizefile import KUSTOMIZATION_FILES, KustomizeFile

MASK = "**MASKED**"
MASK_BEFORE = "**MASKED (before)**"
MASK_AFTER = "**MASKED (after)**"
SOPS = "**SOPS**"
SECRET_FIELDS = ("data", "stringData")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class NoiseRules:
    """Glob patterns of annotation and label keys removed before diffing (configurable)."""

    annotations: tuple[str, ...] = (
        "config.kubernetes.io/*",
        "internal.config.kubernetes.io/*",
        "checksum/*",
        LAST_APPLIED,
    )
    labels: tuple[str, ...] = ("helm.sh/chart", "app.kubernetes.io/version")


def is_secret(obj: Mapping[str, Any] | None) -> bool:
    return bool(obj) and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"  # type: ignore[union-attr]


def _is_sops(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("ENC[") and value.endswith("]")


def mask_sops(obj: Any) -> Any:
    """Every ``ENC[...]`` value as ``**SOPS**``; a top-level ``sops:`` block collapsed."""
    if isinstance(obj, Mapping):
        return {
            k: (SOPS if k == "sops" and isinstance(v, Mapping) else mask_sops(v))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [mask_sops(v) for v in obj]
    return SOPS if _is_sops(obj) else obj


def _values(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """All secret values by key (``stringData`` wins, as the API server merges it into data)."""
    merged: dict[str, Any] = {}
    if obj:
        for name in SECRET_FIELDS:
            section = obj.get(name)
            if isinstance(section, Mapping):
                merged.update(
                    {
                        str(k): ("s", v) if name == "stringData" else ("d", v)
                        for k, v in section.items()
                    }
                )
    return merged


def mask_secret_pair(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Masked copies of the two sides of one Secret: equal values alike, changed ones marked."""
    old_vals, new_vals = _values(old), _values(new)

    def masked(
        obj: Mapping[str, Any] | None,
        mine: dict[str, Any],
        other: dict[str, Any],
        changed_mark: str,
    ) -> dict[str, Any] | None:
        if obj is None:
            return None
        out = {k: copy.deepcopy(v) for k, v in obj.items() if k not in SECRET_FIELDS}
        meta = out.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
            meta["annotations"] = {
                k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED
            }
        for name in SECRET_FIELDS:
            section = obj.get(name)
            if not isinstance(section, Mapping):
                if section is not None:
                    out[name] = MASK
                continue
            out[name] = {}
            for key, value in section.items():
                if _is_sops(value):
                    out[name][str(key)] = SOPS
                elif str(key) in other and other[str(key)][1] != mine[str(key)][1]:
                    out[name][str(key)] = changed_mark
                else:
                    out[name][str(key)] = MASK
        return mask_sops(out)  # type: ignore[no-any-return]

    return (
        masked(old, old_vals, new_vals, MASK_BEFORE),
        masked(new, new_vals, old_vals, MASK_AFTER),
    )


def _drop(section: Any, patterns: Iterable[str]) -> Any:
    if not isinstance(section, Mapping):
        return section
    pats = tuple(patterns)
    kept = {
        k: v for k, v in section.items() if not any(fnmatch.fnmatchcase(str(k), p) for p in pats)
    }
    return kept or None


def strip_noise(obj: Any, rules: NoiseRules | None = None) -> Any:
    """A copy without noisy labels/annotations in any ``metadata`` (pod templates included)."""
    rules = rules or NoiseRules()
    if isinstance(obj, Mapping):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key == "metadata" and isinstance(value, Mapping):
                meta = dict(value)
                for field_name, pats in (
                    ("annotations", rules.annotations),
                    ("labels", rules.labels),
                ):
                    if field_name in meta:
                        kept = _drop(meta[field_name], pats)
                        if kept is None:
                            del meta[field_name]
                        else:
                            meta[field_name] = kept
                out[key] = {k: strip_noise(v, rules) for k, v in meta.items()}
            else:
                out[key] = strip_noise(value, rules)
        return out
    if isinstance(obj, list):
        return [strip_noise(v, rules) for v in obj]
    return obj


MIN_PIECE_LEN = 8  # parts of a secret (a line, a value in it) scrubbed on their own from this long


def secret_pieces(text: str) -> set[str]:
    """``text`` and the parts of it an error message may quote on their own.

    A secret value is often a small file (``values.yaml``, an env file): besides the whole text,
    every line and every value after ``key: `` or ``key=`` in a line count, when long enough.
    """
    found = {text}
    for line in text.splitlines():
        line = line.strip()
        if len(line) >= MIN_PIECE_LEN:
            found.add(line)
        for sep in (": ", "="):
            if sep in line:
                value = line.split(sep, 1)[1].strip().strip("'\"")
                if len(value) >= MIN_PIECE_LEN:
                    found.add(value)
    return found


Loader = Callable[[str, str], list[Any]]


def generator_secret_values(tree: Mapping[str, str], load: Loader) -> frozenset[str]:
    """Values a kustomize ``secretGenerator`` would put in a Secret: literals and file contents.

    They are never in a Secret object of the repository, yet a failing build may quote them
    (``invalid literal source =value``), so errors are scrubbed of them too.
    """
    found: set[str] = set()
    for path, text in tree.items():
        if posixpath.basename(path) not in KUSTOMIZATION_FILES or "secretGenerator" not in text:
            continue
        try:
            docs = load(text, path)
        except Exception:  # an unreadable kustomization fails its build; nothing to collect
            continue
        doc = docs[0] if docs else None
        gens = doc.get("secretGenerator") if isinstance(doc, Mapping) else None
        directory = posixpath.dirname(path)
        for gen in gens if isinstance(gens, list) else []:
            if not isinstance(gen, Mapping):
                continue
            for literal in gen.get("literals") or []:
                found |= secret_pieces(str(literal))
                found.add(str(literal).split("=", 1)[-1])
            sources = list(gen.get("files") or []) + list(gen.get("envs") or [])
            if isinstance(gen.get("env"), str):
                sources.append(gen["env"])
            for item in sources:
                target = KustomizeFile.resolve(directory, str(item).split("=", 1)[-1])
                if target is not None and target in tree:
                    found |= secret_pieces(tree[target])
    return frozenset(v for v in found if len(v.strip()) >= 4)
