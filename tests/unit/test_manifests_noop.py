"""No-op and round trip on every YAML file of both testdata repositories.

* Applying the current values (edits and setters) leaves every byte identical.
* Moving every reference to another tag touches only the lines holding the edited scalars, and
  moving it back restores the original bytes exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.manifests.edits import Update, apply_updates
from bot.core.manifests.scan import scan_text
from bot.core.manifests.setters import apply, find_markers
from tests.support.paths import FLUX_EXAMPLE, ONEDR0P

OTHER_DIGEST = "sha256:" + "f0" * 32


def _files() -> list[Path]:
    out: list[Path] = []
    for root in (ONEDR0P, FLUX_EXAMPLE):
        out.extend(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return sorted(out)


FILES = _files()


def test_testdata_present() -> None:
    assert len(FILES) > 450


def test_applying_current_values_changes_no_byte() -> None:
    touched = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        refs = [r for r in scan_text(text, str(path)) if r.unresolved is None and r.tag]
        same = [Update(r, r.tag or "", r.digest) for r in refs]
        assert apply_updates(text, same) == text, path
        results = {
            m.policy: {"image": "x", "tag": m.value, "digest": m.value} for m in find_markers(text)
        }
        assert apply(text, results) == text, path
        touched += bool(refs)
    assert touched > 90


@pytest.mark.parametrize("root", [ONEDR0P], ids=["onedr0p"])
def test_round_trip_touches_only_edited_lines(root: Path) -> None:
    edited = 0
    for path in FILES:
        if root not in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        refs = [r for r in scan_text(text, str(path)) if r.unresolved is None and r.tag]
        if not refs:
            continue
        moved = apply_updates(
            text,
            [Update(r, "99.98.97-fluxbot", OTHER_DIGEST if r.digest else None) for r in refs],
        )
        before_lines, after_lines = text.splitlines(True), moved.splitlines(True)
        assert len(before_lines) == len(after_lines), path
        changed = {
            i + 1 for i, (a, b) in enumerate(zip(before_lines, after_lines, strict=True)) if a != b
        }
        span_lines = {s.line for r in refs for s in r.spans}
        assert changed and changed <= span_lines, path
        back_refs = [r for r in scan_text(moved, str(path)) if r.unresolved is None and r.tag]
        assert len(back_refs) == len(refs)
        original = {(r.doc, r.path): r for r in refs}
        restored = apply_updates(
            moved,
            [
                Update(r, original[(r.doc, r.path)].tag or "", original[(r.doc, r.path)].digest)
                for r in back_refs
            ],
        )
        assert restored == text, path
        edited += len(refs)
    assert edited > 90
