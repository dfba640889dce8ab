"""Discovery of every image reference in a Flux repository, from a cold process.

Usage: ``python bench/discover.py [REPO] [--owner]`` (default: ../shared/testdata/onedr0p-home-ops).
Prints the figures: files read, files parsed after the text prefilter, references found by kind,
and the time of each phase. Time the whole cold process with ``/usr/bin/time -v``.
``--owner`` also builds the Flux Kustomization graph (bot.core.flux.graph) to fill
``kustomization``.
"""

from __future__ import annotations

import sys
import time

T0 = time.perf_counter()

from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

from bot.core.manifests.scan import scan  # noqa: E402

T_IMPORT = time.perf_counter()

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "onedr0p-home-ops"


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    root = Path(args[0]) if args else DEFAULT
    t_read = time.perf_counter()
    tree = {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.suffix in (".yaml", ".yml") and p.is_file()
    }
    t_scan = time.perf_counter()
    owner = None
    if "--owner" in argv:  # also say which Flux Kustomization deploys each file
        from bot.core.flux.graph import FluxGraph

        owner = FluxGraph.from_tree(tree).owner
    found = scan(tree, owner)
    t_end = time.perf_counter()
    owned = sum(1 for r in found.refs if r.kustomization)
    kinds = Counter(ref.kind.value for ref in found.refs)
    print(f"repository        {root}")
    print(f"yaml files        {len(tree)}")
    print(f"parsed (prefilter) {found.parsed}")
    unresolved = sum(1 for r in found.refs if r.unresolved)
    print(f"references        {len(found.refs)}  ({unresolved} unresolved)")
    for kind, count in sorted(kinds.items()):
        print(f"  {kind:<26}{count}")
    print(f"errors            {len(found.errors)}")
    if owner is not None:
        print(f"with kustomization {owned}")
    print(f"import            {(T_IMPORT - T0) * 1000:.1f} ms")
    print(f"read files        {(t_scan - t_read) * 1000:.1f} ms")
    print(f"scan              {(t_end - t_scan) * 1000:.1f} ms")
    print(f"in-process total  {(t_end - T0) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
