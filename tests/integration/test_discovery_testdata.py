"""Discovery on the real testdata repositories, checked against an independent count.

The independent count walks the *plain data* of every document (``load_documents``, no spans,
no site table, no prefilter) with the rules written out by hand, and must agree with the scanner
file by file and value by value.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.core.manifests.scan import scan
from bot.core.manifests.yamlload import load_documents
from tests.support.paths import FLUX_EXAMPLE, ONEDR0P


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.suffix in (".yaml", ".yml") and p.is_file()
    }


def _tag(raw: Any) -> str:
    return str(raw)


def _strings_under_image_keys(data: Any, out: list[str], exact: bool) -> None:
    """``image``-keyed strings (exact key) or, for helm values, keys ending in image + maps."""
    if isinstance(data, list):
        for item in data:
            _strings_under_image_keys(item, out, exact)
        return
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        k = str(key)
        hit = k == "image" if exact else k.lower().endswith("image")
        if hit and isinstance(value, str) and value:
            out.append(value)
            continue
        is_map = hit and not exact and isinstance(value, dict) and "repository" in value
        if is_map and value.get("tag") not in (None, ""):
            image = str(value["repository"])
            if value.get("registry"):
                image = f"{value['registry']}/{image}"
            ref = f"{image}:{_tag(value['tag'])}"
            if value.get("digest"):
                ref += f"@{value['digest']}"
            out.append(ref)
            continue
        _strings_under_image_keys(value, out, exact)


def _kustomize_entries(entries: Any, out: list[str]) -> None:
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not (entry.get("newTag") or entry.get("digest")):
            continue
        ref = str(entry.get("newName") or entry.get("name"))
        if entry.get("newTag"):
            ref += f":{_tag(entry['newTag'])}"
        if entry.get("digest"):
            ref += f"@{entry['digest']}"
        out.append(ref)


_RENOVATE = re.compile(r"^\s*#\s*renovate:.*\bdatasource=(\S+).*\bdepName=(\S+)")


def _renovate_annotations(text: str) -> list[str]:
    """``depName:value`` of each non-helm ``# renovate:`` comment whose next line is
    ``key: value`` (a helm annotation pins a chart, not an image)."""
    out: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        match = _RENOVATE.match(line)
        value = re.match(r"^\s*(?:- )?[\w.-]+:\s*['\"]?([^'\"#\s]+)", lines[i + 1])
        if match and value and match[1] != "helm":
            out.append(f"{match[2]}:{value[1]}")
    return out


def independent(path: str, text: str) -> list[str]:
    found: list[str] = _renovate_annotations(text)
    base = path.rsplit("/", 1)[-1]
    for doc in load_documents(text, path):
        if not isinstance(doc, dict):
            continue
        api, kind = doc.get("apiVersion"), doc.get("kind")
        group = api.rsplit("/", 1)[0] if isinstance(api, str) and "/" in api else ""
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        if base in ("kustomization.yaml", "kustomization.yml", "Kustomization") and (
            api is None or group == "kustomize.config.k8s.io"
        ):
            _kustomize_entries(doc.get("images"), found)
        if group == "kustomize.toolkit.fluxcd.io" and kind == "Kustomization":
            _kustomize_entries(spec.get("images"), found)
        if group == "source.toolkit.fluxcd.io" and kind == "OCIRepository":
            ref = spec.get("ref") or {}
            if spec.get("url") and (ref.get("tag") or ref.get("digest")):
                value = str(spec["url"]).removeprefix("oci://")
                if ref.get("tag"):
                    value += f":{ref['tag']}"
                if ref.get("digest"):
                    value += f"@{ref['digest']}"
                found.append(value)
        if api is None or kind is None:
            continue
        if group == "helm.toolkit.fluxcd.io" and kind == "HelmRelease":
            values = spec.get("values")
            helm: list[str] = []
            _strings_under_image_keys(values, helm, exact=False)
            found.extend(helm)
            for renderer in spec.get("postRenderers") or []:
                _kustomize_entries(((renderer or {}).get("kustomize") or {}).get("images"), found)
            rest = {k: v for k, v in spec.items() if k != "values"}
            _strings_under_image_keys(rest, found, exact=True)
            _strings_under_image_keys({k: v for k, v in doc.items() if k != "spec"}, found, True)
        else:
            _strings_under_image_keys(doc, found, exact=True)
    return found


def _scanner_value(ref: Any) -> str:
    if ref.unresolved is not None and not ref.tag:
        return str(ref.image)
    return str(ref.value)


@pytest.mark.parametrize("root", [ONEDR0P, FLUX_EXAMPLE], ids=["onedr0p", "flux-example"])
def test_discovery_matches_independent_count(root: Path) -> None:
    tree = _tree(root)
    found = scan(tree)
    assert found.errors == ()
    ours: dict[str, Counter[str]] = {}
    for ref in found.refs:
        ours.setdefault(ref.file, Counter())[_scanner_value(ref)] += 1
    theirs: dict[str, Counter[str]] = {}
    for path, text in tree.items():
        values = independent(path, text)
        if values:
            theirs[path] = Counter(values)
    assert ours == theirs
    total = sum(len(c) for c in theirs.values())
    if root == ONEDR0P:
        assert total >= 95  # 69 OCIRepository tags + HelmRelease values + an EnvoyProxy image
        assert sum(1 for r in found.refs if r.digest) >= 25  # tag@sha256 pins
    else:
        assert total == 0  # the example deploys charts by version range: nothing to pin


def test_onedr0p_every_reference_line_points_at_its_value() -> None:
    tree = _tree(ONEDR0P)
    for ref in scan(tree).refs:
        text = tree[ref.file]
        line = text.splitlines()[ref.line - 1]
        main = next(s for s in ref.spans if s.line == ref.line)
        assert main.value in line
        assert re.sub(r"^['\"]|['\"]$", "", text[main.start : main.end]) == main.value
