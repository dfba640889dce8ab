"""Benchmark: a one-image PR on onedr0p-home-ops, affected-only diff vs rendering everything.

    python bench/diff.py [--repeat 3]

Copies ../shared/testdata/onedr0p-home-ops into a temporary git repository, commits a one-image
change (the atuin HelmRelease tag) and prints, best of ``--repeat`` runs:

- kustomize once: one bare ``kubectl kustomize`` of the affected Kustomization's path
- build once:   rendering just the affected Kustomizations once (head side only; since issue 12
  this includes building its parent once, to read the child as Flux applies it)
- affected:     ``run_preview`` (both sides, affected Kustomizations only, sides in parallel)
- affected-seq: the same with the two sides rendered one after the other
- all:          ``run_preview`` rendering every Kustomization on both sides

Targets: issue 7, affected < 2 x build once; issue 12, affected < 2 x kustomize once.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.build.render import TreeRenderer
from bot.adapters.proc import build_kustomization, changed_paths, git, git_tree
from bot.app.log import configure
from bot.core.flux.graph import FluxGraph
from bot.jobs.preview import PreviewOptions, run_preview
from tests.support.paths import ONEDR0P

ATUIN = "kubernetes/apps/default/atuin/app/helmrelease.yaml"
OLD = "18.19.0@sha256:4d0ccca1d151f860b3f469c60df78bf1ab798f15e88dc1912d31d6741653eb99"


def best(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    configure()  # logs to stderr
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(ONEDR0P, repo, ignore=shutil.ignore_patterns(".git"))
        ident = ["-c", "user.name=b", "-c", "user.email=b@example.com"]
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, *ident, "commit", "-q", "-m", "base")
        path = repo / ATUIN
        path.write_text(path.read_text().replace(OLD, "18.20.0"))
        git(repo, *ident, "commit", "-q", "-am", "bump atuin")
        base, head = git_tree(repo, "HEAD~1"), git_tree(repo, "HEAD")
        changed = changed_paths(repo, "HEAD~1", "HEAD")

        graph = FluxGraph.from_tree(head)
        affected = graph.affected_nodes(changed)

        def build_once() -> int:
            with TreeRenderer(head, graph) as side:
                return sum(len(side.render(n).objects) for n in affected)

        def kustomize_once() -> int:
            out = build_kustomization(repo / affected[0].ks.path)
            return out.count("\nkind: ")

        t_kust, _ = best(args.repeat, kustomize_once)
        t_once, objects = best(args.repeat, build_once)
        t_aff, res = best(args.repeat, lambda: run_preview(base, head, changed))
        t_seq, _ = best(
            args.repeat, lambda: run_preview(base, head, changed, PreviewOptions(parallel=False))
        )
        t_all, res_all = best(
            max(1, args.repeat // 3),
            lambda: run_preview(base, head, changed, PreviewOptions(render_all=True)),
        )
    print(f"repository: onedr0p-home-ops, {len(head)} files, {len(graph.nodes)} Kustomizations")
    print(f"change: {changed} -> affected: {[n.label for n in affected]}")
    print(f"kustomize once (bare, affected):  {t_kust:.3f} s")
    print(f"build once (affected, head only): {t_once:.3f} s ({objects} objects)")
    print(
        f"fluxbot diff, affected only:      {t_aff:.3f} s "
        f"({t_aff / t_once:.2f}x build once, {t_aff / t_kust:.2f}x kustomize once; target < 2x)"
    )
    print(f"  same, sides sequential:         {t_seq:.3f} s ({t_seq / t_once:.2f}x build once)")
    print(
        f"render every Kustomization x2:    {t_all:.3f} s "
        f"({t_all / t_aff:.1f}x slower than affected-only)"
    )
    print(
        f"results: affected-only {len(res.kustomizations)} changed Kustomization(s); "  # type: ignore[attr-defined]
        f"all {len(res_all.kustomizations)}"
    )  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
