"""GitLabForge figures against the fake GitLab on loopback (prints figures; not run in CI).

    python -m bench.gitlab_forge

1. ``read_tree`` of a real Flux repository (onedr0p-home-ops, ~440 YAML files): from one archive
   download, and file by file (the fallback) by pool size: wall time and requests. On GitLab
   each request also pays the network round trip, so the request count is what carries over.
2. One update group converged from scratch (branch commit + MR) and the no-op re-run: requests
   and wall time.
3. An artificial 50 ms of latency per request, to show what the bounded pool buys.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.adapters.gitlab.client import GitLabPool
from bot.adapters.gitlab.forge import GitLabForge
from tests.support.gitlab_fake import FakeGitLab
from tests.support.paths import ONEDR0P


def load_tree(root: Path) -> dict[str, str]:
    tree: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".md"):
            try:
                tree[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return tree


async def read_tree(
    fake: FakeGitLab, workers: int, archive: bool = False
) -> tuple[float, int, int]:
    before = len(fake.received)
    pool = GitLabPool(fake.url, fake.token, workers=workers)
    forge = GitLabForge("home/ops", pool, archive=archive)
    try:
        start = time.perf_counter()
        tree = await forge.read_tree("main")
        elapsed = time.perf_counter() - start
    finally:
        pool.close()
    return elapsed, len(fake.received) - before, len(tree)


async def converge(fake: FakeGitLab) -> None:
    pool = GitLabPool(fake.url, fake.token, workers=4)
    forge = GitLabForge("home/ops", pool)
    try:
        base = await forge.branch_sha("main")
        assert base
        path = next(p for p in fake.projects["home/ops"].commits[base].tree if p.endswith(".yaml"))
        files = {path: (fake.file("home/ops", "main", path) or "") + "# bumped\n"}
        for label in ("first run", "no-op re-run"):
            before = len(fake.received)
            start = time.perf_counter()
            await forge.ensure_branch("fluxbot/bench", base, files, "bench")
            await forge.ensure_pr("fluxbot/bench", "main", "Bench", "body", ["deps"])
            elapsed = time.perf_counter() - start
            requests = len(fake.received) - before
            print(f"converge one group, {label}: {requests} requests in {elapsed * 1000:.0f} ms")
    finally:
        pool.close()


async def main() -> None:
    fake = FakeGitLab()
    await fake.start()
    tree = load_tree(ONEDR0P)
    fake.add_project("home/ops", tree)
    yaml_files = sum(1 for p in tree if p.endswith((".yaml", ".yml")))
    print(f"onedr0p-home-ops: {len(tree)} files, {yaml_files} YAML")
    elapsed, requests, got = await read_tree(fake, 4, archive=True)
    print(f"read_tree from the archive: {got} files, {requests} request, {elapsed:.2f}s")
    for workers in (1, 4, 8):
        elapsed, requests, got = await read_tree(fake, workers)
        print(
            f"read_tree file by file, workers={workers}: {got} files, {requests} requests, "
            f"{elapsed:.2f}s ({elapsed / requests * 1000:.1f} ms/request)"
        )
    await converge(fake)

    slow_fake = FakeGitLab()
    slow_fake.latency = 0.05
    slow_fake.add_project("home/ops", dict(list(tree.items())[:100]))
    await slow_fake.start()
    for workers in (1, 4, 8):
        elapsed, requests, got = await read_tree(slow_fake, workers)
        print(
            f"read_tree file by file at 50 ms/request, workers={workers}: {got} files, "
            f"{requests} requests, {elapsed:.2f}s"
        )
    await fake.close()
    await slow_fake.close()


if __name__ == "__main__":
    asyncio.run(main())
