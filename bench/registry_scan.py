"""Scan 200 repositories × 50 tags concurrently on a token-auth loopback registry.

Usage: ``python bench/registry_scan.py [--repos 200] [--tags 50] [--refs 3] [--concurrency 8 32]``

Each repository is asked for ``--refs`` times at once (as when several manifests use one image).
The scan runs in its own process (the token server's thread stays in this one, so they do not
share a GIL). Prints wall time, the client's request counters and what the token server saw.
Target: one tags/list chain and one token per repository scope, no more (plus one ``GET /v2/``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.adapters.registry import RegistryClient  # noqa: E402
from tests.support.registry_process import start_registry  # noqa: E402


async def scan(
    host: str, realm: str, repos: list[str], refs: int, concurrency: int
) -> dict[str, object]:
    async with RegistryClient(insecure=[host, realm], concurrency=concurrency) as client:
        start, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(
            *(client.tags(f"{host}/{repo}") for repo in repos for _ in range(refs))
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert all(len(r) == len(results[0]) > 0 for r in results)
        calls = len(results)
        requests = dict(sorted(client.stats.requests.items()))
        hits = client.stats.cache_hits
        start = time.perf_counter()
        await asyncio.gather(*(client.tags(f"{host}/{repo}") for repo in repos))
        again = time.perf_counter() - start
        return {
            "calls": calls, "wall": wall, "cpu": cpu, "requests": requests,
            "retries": client.stats.retries, "shared": hits, "second_scan": again,
            "requests_after_second_scan": client.stats.total,
        }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--refs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--mode", choices=["token", "none"], default="token")
    parser.add_argument("--client", nargs=4, metavar=("HOST", "REALM", "REFS", "CONC"))
    args = parser.parse_args()
    repos = [f"scan/app{i:03d}" for i in range(args.repos)]
    if args.client:  # child process: only the scan
        host, realm, refs, conc = args.client
        print(json.dumps(asyncio.run(scan(host, realm, repos, int(refs), int(conc)))))
        return 0
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp, start_registry(Path(tmp), args.mode) as reg:
        server = reg.token_server
        tags = [f"1.{i // 10}.{i % 10}" for i in range(args.tags)]
        start = time.perf_counter()
        for repo in repos:
            reg.seed_on_disk(repo, tags)
        print(f"seeded {args.repos} repositories × {args.tags} tags ({args.mode} auth) "
              f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
        for concurrency in args.concurrency:
            before = len(server.scopes) if server else 0
            realm = server.host if server else reg.host
            child = [sys.executable, __file__, "--repos", str(args.repos), "--client",
                     reg.host, realm, str(args.refs), str(concurrency)]  # fmt: skip
            out = json.loads(subprocess.run(child, check=True, capture_output=True).stdout)
            print(f"concurrency {concurrency}: {out['calls']} tags() calls for {args.repos} repos, "
                  f"wall {out['wall']:.2f} s, client CPU {out['cpu']:.2f} s")  # fmt: skip
            print(f"  requests by kind {out['requests']}, retries {out['retries']}, "
                  f"calls served by the in-flight fetch/cache {out['shared']}")  # fmt: skip
            print(f"  second scan from the TTL cache: {out['second_scan'] * 1000:.1f} ms, "
                  f"requests still {out['requests_after_second_scan']}")  # fmt: skip
            if server is not None:
                scopes = Counter(scope for scope, _ in server.scopes[before:])
                print(f"  token server: {sum(scopes.values())} tokens for {len(scopes)} scopes, "
                      f"max per scope {max(scopes.values())}")  # fmt: skip
    print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
