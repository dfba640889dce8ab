"""Benchmark: policy selection over 10k / 100k / 1M synthetic tags.

Run: ``python bench/policy.py [--sizes 10000 100000 1000000] [--repeat 3]``. Prints the best wall
time in ms per size for (a) a semver range over mixed semver, prerelease and junk tags, and
(b) filterTags pattern + extract with a numerical policy over CI-style tags. Not run in CI.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from bot.core.policy import latest


def synthetic_tags(n: int, seed: int = 7) -> list[str]:
    """Mixed tags: releases (some v-prefixed), prereleases, CI builds, digests-like junk."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        kind = rng.random()
        a, b, c = rng.randrange(0, 30), rng.randrange(0, 50), rng.randrange(0, 200)
        if kind < 0.45:
            out.append(f"{a}.{b}.{c}")
        elif kind < 0.55:
            out.append(f"v{a}.{b}.{c}")
        elif kind < 0.70:
            out.append(f"{a}.{b}.{c}-rc.{rng.randrange(0, 20)}")
        elif kind < 0.85:
            out.append(f"main-{rng.getrandbits(28):07x}-{1700000000 + i}")
        elif kind < 0.92:
            out.append(f"sha256-{rng.getrandbits(64):016x}.sig")
        else:
            out.append(rng.choice(["latest", "stable", "edge", "nightly"]) + f"-{i}")
    return out


def best_ms(fn: Callable[[], str], repeat: int) -> tuple[float, float, str]:
    """Best-of-``repeat`` wall and CPU time in milliseconds, and the selected tag.

    CPU time is shown too because the machine is shared: wall time includes waiting for a core.
    """
    best = best_cpu = float("inf")
    result = ""
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, (time.perf_counter() - start) * 1000)
        best_cpu = min(best_cpu, (time.process_time() - cpu) * 1000)
    return best, best_cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    semver_spec = {"policy": {"semver": {"range": ">=1.0.0 <25.0.0"}}}
    extract_spec = {
        "policy": {"numerical": {"order": "asc"}},
        "filterTags": {"pattern": r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "extract": "$ts"},
    }
    print(f"{'tags':>9} {'semver wall/cpu ms':>20} {'filter+extract wall/cpu ms':>28}  selected")
    for n in args.sizes:
        tags = synthetic_tags(n)
        s_wall, s_cpu, s_tag = best_ms(lambda t=tags: latest(semver_spec, t), args.repeat)
        e_wall, e_cpu, e_tag = best_ms(lambda t=tags: latest(extract_spec, t), args.repeat)
        semver_col = f"{s_wall:>11.1f} / {s_cpu:>6.1f}"
        extract_col = f"{e_wall:>19.1f} / {e_cpu:>6.1f}"
        print(f"{n:>9} {semver_col} {extract_col}  {s_tag} / {e_tag}")


if __name__ == "__main__":
    main()
