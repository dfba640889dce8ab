"""List 10,000 tags from a loopback Distribution 2.8 registry: fluxbot vs skopeo, same run.

Usage: ``python bench/registry_list.py [--tags 10000] [--runs 7]``

Prints the median wall time of
- ``skopeo list-tags --tls-verify=false docker://HOST/bench/app`` (a process per run),
- ``fluxbot tags HOST/bench/app --json --all`` (a process per run, Python start-up included) as
  found on ``PATH`` (here possibly a pyenv shim: a bash script in front) and the console script
  next to this interpreter (what a virtualenv install runs),
- a Python process importing only ``bot.adapters.registry`` (no CLI group) that lists and prints
JSON,
- ``python -c pass``: the interpreter start-up floor,
- ``RegistryClient.tags`` in-process (a fresh client per run: ping + tags/list, no cache),
and the ratios fluxbot/skopeo (target ≤ 1.2×).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.registry import RegistryClient
from tests.support.registry_process import start_registry

REPO = "bench/app"


def _cpu() -> float:
    """CPU seconds (user + sys) of this process and its finished children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object], runs: int) -> tuple[float, list[float], float]:
    """Median wall time, the samples, and the median CPU time (less noisy on a shared machine)."""
    samples, cpu = [], []
    for _ in range(runs):
        start, cpu0 = time.perf_counter(), _cpu()
        fn()
        samples.append(time.perf_counter() - start)
        cpu.append(_cpu() - cpu0)
    return statistics.median(samples), samples, statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        print("skopeo is not installed (apt-get install skopeo)")
        return 1
    fluxbot = shutil.which("fluxbot") or ""
    script = Path(sys.executable).parent / "fluxbot"
    direct = str(script) if script.exists() and str(script) != fluxbot else ""
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp, start_registry(Path(tmp)) as reg:
        tags = [f"1.{i // 100}.{i % 100}" for i in range(args.tags)]
        start = time.perf_counter()
        reg.seed_on_disk(REPO, tags)
        print(f"seeded {len(tags)} tags in {time.perf_counter() - start:.2f} s")
        image = f"{reg.host}/{REPO}"

        def skopeo() -> None:
            out = subprocess.run(
                ["skopeo", "list-tags", "--tls-verify=false", f"docker://{image}"],
                check=True,
                capture_output=True,
            ).stdout
            assert len(json.loads(out)["Tags"]) == len(tags)

        def cli(program: str = fluxbot) -> None:
            out = subprocess.run(
                [program, "tags", image, "--json", "--all", "--insecure-registry", reg.host],
                check=True,
                capture_output=True,
            ).stdout
            assert len(json.loads(out)) == len(tags)

        def cli_direct() -> None:
            cli(direct)

        def lib_process() -> None:
            # a Python process that imports only bot.adapters.registry (no CLI group): start-up +
            # listing
            code = (
                "import asyncio, json, sys\n"
                "from bot.adapters.registry import RegistryClient\n"
                "async def main():\n"
                "    async with RegistryClient(insecure=[sys.argv[2]]) as c:\n"
                "        print(json.dumps(await c.tags(sys.argv[1])))\n"
                "asyncio.run(main())\n"
            )
            out = subprocess.run(
                [sys.executable, "-c", code, image, reg.host],
                check=True,
                capture_output=True,
                cwd=Path(__file__).resolve().parents[1],
            ).stdout
            assert len(json.loads(out)) == len(tags)

        def python_startup() -> None:
            subprocess.run([sys.executable, "-c", "pass"], check=True)

        async def listing() -> None:
            async with RegistryClient(insecure=[reg.host]) as client:
                assert len(await client.tags(image)) == len(tags)

        def library() -> None:
            asyncio.run(listing())

        skopeo()  # warm-up: page cache, registry
        library()
        results = {
            "skopeo list-tags": timed(skopeo, args.runs),
            "fluxbot tags (process)": timed(cli, args.runs) if fluxbot else None,
            "fluxbot tags (script, no shim)": timed(cli_direct, args.runs) if direct else None,
            "python + bot.adapters.registry (process)": timed(lib_process, args.runs),
            "python -c pass (start-up floor)": timed(python_startup, args.runs),
            "RegistryClient.tags (in-process)": timed(library, args.runs),
        }
        for name, result in results.items():
            if result is None:
                print(f"{name:34} n/a")
                continue
            median, samples, cpu = result
            spread = ", ".join(f"{s * 1000:.0f}" for s in samples)
            print(f"{name:34} median {median * 1000:7.1f} ms  CPU {cpu * 1000:6.1f} ms  "
                  f"runs: {spread}")  # fmt: skip
        base = results["skopeo list-tags"]
        assert base is not None
        for name, result in results.items():
            if result is not None and name not in (
                "skopeo list-tags",
                "python -c pass (start-up floor)",
            ):
                print(f"ratio {name} / skopeo: wall {result[0] / base[0]:.2f}x, "
                      f"CPU {result[2] / base[2]:.2f}x")  # fmt: skip
    print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
