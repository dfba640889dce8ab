"""Scan 200 repositories × 50 tags concurrently on a token-auth loopback registry.

Usage: ``python bench/registry_scan.py [--repos 200] [--tags 50] [--refs 3] [--concurrency 8]``

Each repository is asked for ``--refs`` times at once (as when several manifests use one image).
Prints wall time, the client's request counters, and what the token server saw. Target: one
tags/list chain and one token per repository scope, no more (plus one ``GET /v2/`` per host).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.registry import RegistryClient
from tests.support.registry_process import start_registry


async def scan(host: str, realm_host: str, repos: list[str], refs: int, concurrency: int) -> None:
    async with RegistryClient(insecure=[host, realm_host], concurrency=concurrency) as client:
        start = time.perf_counter()
        cpu = time.process_time()
        results = await asyncio.gather(
            *(client.tags(f"{host}/{repo}") for repo in repos for _ in range(refs))
        )
        wall = time.perf_counter() - start
        assert all(len(r) == len(results[0]) for r in results)
        cpu = time.process_time() - cpu
        print(
            f"concurrency {concurrency}: {len(results)} tags() calls, wall {wall:.2f} s, "
            f"CPU of this process {cpu:.2f} s (client + in-process token server)"
        )
        print(f"  requests by kind: {dict(sorted(client.stats.requests.items()))}")
        print(
            f"  retries {client.stats.retries}, served from cache/in-flight "
            f"{client.stats.cache_hits}"
        )
        start = time.perf_counter()
        await asyncio.gather(*(client.tags(f"{host}/{repo}") for repo in repos))
        print(
            f"  second scan (TTL cache): {time.perf_counter() - start:.3f} s, "
            f"requests now {client.stats.total}"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--refs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--mode", choices=["token", "none"], default="token")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, start_registry(Path(tmp), args.mode) as reg:
        server = reg.token_server
        repos = [f"scan/app{i:03d}" for i in range(args.repos)]
        tags = [f"1.{i // 10}.{i % 10}" for i in range(args.tags)]
        start = time.perf_counter()
        for repo in repos:
            reg.seed_on_disk(repo, tags)
        print(
            f"seeded {args.repos} repositories × {args.tags} tags "
            f"in {time.perf_counter() - start:.1f} s"
        )
        for concurrency in args.concurrency:
            before = len(server.scopes) if server else 0
            realm = server.host if server else reg.host
            asyncio.run(scan(reg.host, realm, repos, args.refs, concurrency))
            if server is None:
                continue
            scopes = Counter(scope for scope, _ in server.scopes[before:])
            print(
                f"  token server: {sum(scopes.values())} tokens for {len(scopes)} scopes, "
                f"max per scope {max(scopes.values())}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
