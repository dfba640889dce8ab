"""Benchmark: what ``fluxbot plan`` spends on imports, measured with ``python -X importtime``.

    python bench/startup.py [--before REV] [--refs 150] [--repos 40] [--tags 20] [--rounds 7]

Builds the synthetic Flux repository of ``bench/plan_vs_renovate.py`` (``--refs`` references over
``--repos`` repositories of a loopback ``docker-registry``), then runs, each from a cold process,
``python -X importtime -m bot plan REPO --json --insecure-registry HOST`` ``--rounds`` times and
sums the cumulative time of every top-level import that the bare interpreter does not make
(``python -X importtime -c pass``): the import cost of the plan path, lazy imports included.
Bytecode is written and reused (``PYTHONDONTWRITEBYTECODE`` is dropped for the runs), as in an
installed fluxbot; the untimed first run compiles it. Those times are wall clock, so a loaded
machine inflates them; each round therefore also imports the same top-level modules, in the same
order, in a fresh process and reports the CPU time (``time.process_time``) that took.

``--before REV`` checks that revision out into a temporary git worktree and measures it in the same
rounds, interleaved with this tree, so both see the same machine load. Prints the best and median
import cost and wall time of each tree, and the heaviest top-level imports of the best run.
Budget (issue 11): under 120 ms of imports.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.plan_vs_renovate import build  # noqa: E402
from tests.support.registry_process import start_registry  # noqa: E402

BUDGET_MS = 120.0
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")


_CPU_PROBE = """
import importlib, sys, time
names = sys.argv[1:]
start = time.process_time()
try:  # as ``fluxbot`` itself starts (the trees that have this step)
    from bot.app.cli import _skip_unused_backends
    _skip_unused_backends()
except ImportError:
    pass
for name in names:
    importlib.import_module(name)
print(time.process_time() - start)
"""


@dataclass(frozen=True)
class ImportRun:
    """One process: the top-level imports (name → cumulative µs, in order), the wall time, and
    the CPU time the same imports took in a probe process."""

    top: dict[str, int]
    wall_s: float
    cpu_ms: float = 0.0

    def cost_ms(self, startup: frozenset[str]) -> float:
        return sum(us for name, us in self.top.items() if name not in startup) / 1000.0


def top_level(stderr: str) -> dict[str, int]:
    """Top-level imports of an ``-X importtime`` report, with their cumulative microseconds."""
    out: dict[str, int] = {}
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and not match.group(3):
            out[match.group(4)] = out.get(match.group(4), 0) + int(match.group(2))
    return out


def _python(tree: Path, argv: Sequence[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed fluxbot has its bytecode compiled
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *argv], cwd=tree, env=env, capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    return proc, time.perf_counter() - start


def run(tree: Path, argv: Sequence[str], startup: frozenset[str] = frozenset()) -> ImportRun:
    """``argv`` under ``-X importtime``; with ``startup`` given, also the CPU probe."""
    proc, wall = _python(tree, ["-X", "importtime", *argv])
    top = top_level(proc.stderr)
    if not startup:
        return ImportRun(top, wall)
    names = [name for name in top if name not in startup and not name.startswith("_")]
    probe, _ = _python(tree, ["-c", _CPU_PROBE, *names])
    return ImportRun(top, wall, float(probe.stdout.strip()) * 1000.0)


def checkout(rev: str, into: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(into), rev], check=True
    )
    return into


def report(label: str, runs: list[ImportRun], startup: frozenset[str]) -> tuple[float, float]:
    costs = [r.cost_ms(startup) for r in runs]
    walls = [r.wall_s for r in runs]
    cpus = [r.cpu_ms for r in runs]
    best = runs[costs.index(min(costs))]
    heavy = sorted(
        ((us, name) for name, us in best.top.items() if name not in startup), reverse=True
    )[:8]
    print(
        f"{label:>8}: imports {min(costs):6.1f} ms best, {statistics.median(costs):6.1f} ms "
        f"median (importtime, wall clock); {min(cpus):6.1f} ms best, {statistics.median(cpus):6.1f}"
        f" ms median (CPU); {len(best.top)} top-level imports; plan wall {min(walls):5.2f} s "
        f"best, {statistics.median(walls):5.2f} s median ({len(runs)} runs)"
    )
    print("          heaviest: " + ", ".join(f"{name} {us / 1000:.0f}" for us, name in heavy))
    return min(costs), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="a git revision to measure in the same rounds")
    parser.add_argument("--refs", type=int, default=150)
    parser.add_argument("--repos", type=int, default=40)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fluxbot-startup-") as tmp:
        work = Path(tmp)
        trees = {"after": ROOT}
        if args.before:
            trees = {"before": checkout(args.before, work / "before"), **trees}
        registry = start_registry(work / "registry")
        try:
            repo = work / "repo"
            repo.mkdir()
            built = build(repo, registry.host, args.refs, args.repos, args.tags, registry)
            print(
                f"synthetic repo: {len(built['refs'])} references over {len(built['tags'])} "
                f"repositories, {args.tags} tags each; load {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} CPUs"
            )
            argv = ["-m", "bot", "plan", str(repo), "--json", "--insecure-registry", registry.host]
            startup = frozenset(run(ROOT, ["-c", "pass"]).top) | {"runpy"}
            for tree in trees.values():
                run(tree, argv)  # untimed: bytecode caches and the registry's storage warm
            runs: dict[str, list[ImportRun]] = {label: [] for label in trees}
            for _ in range(args.rounds):
                for label, tree in trees.items():
                    runs[label].append(run(tree, argv, startup))
            best = {label: report(label, runs[label], startup) for label in trees}
        finally:
            registry.close()
            if args.before:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "before")],
                    check=False,
                )
    for measure, ms in zip(("importtime", "CPU"), best["after"], strict=True):
        verdict = "within" if ms < BUDGET_MS else "over"
        print(f"budget {BUDGET_MS:.0f} ms of imports ({measure}): {verdict} ({ms:.1f} ms)")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
