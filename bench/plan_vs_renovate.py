"""Benchmark: ``fluxbot plan`` vs Renovate (lookup-only dry run) on one synthetic Flux repository.

    python bench/plan_vs_renovate.py [--renovate-dir DIR] [--refs 500] [--repos 200] [--tags 40]

Builds a repository of ``--refs`` image references over ``--repos`` repositories of a loopback
Distribution registry (Deployments with several containers, plus OCIRepository chart sources),
seeds every repository with ``--tags`` tags (releases, ``-alpine`` variants, release candidates),
then times, each from a cold process:

* ``fluxbot plan --json`` (``--insecure-registry`` for the loopback registry);
* Renovate 39.264.1 (``npm install renovate@39.264.1`` into ``--renovate-dir``, or a temporary
  directory), ``RENOVATE_PLATFORM=local``, ``RENOVATE_DRY_RUN=lookup``, managers ``flux`` and
  ``kubernetes`` with ``fileMatch`` on YAML, a hostRule with ``insecureRegistry: true``,
  ``RENOVATE_REPORT_TYPE=file``; ``separateMajorMinor: false`` so Renovate proposes one update per
  dependency (the latest), like fluxbot.

After one untimed fluxbot run (warms the registry's storage and Python's bytecode cache for both),
``--rounds`` rounds each time one fluxbot run and one Renovate run (a fresh base directory, so a
cold package cache), with the load average. Prints the median and best times, the ratios, and
every difference between the proposals with its reason.
Not run in CI (the Renovate install takes minutes). Needs Node 20 and ``docker-registry``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.registry_process import start_registry  # noqa: E402

RENOVATE_VERSION = "39.264.1"


def tag_set(rng: random.Random, n: int, style: str) -> list[str]:
    """``n`` tags of one repository in one style: plain, ``v``-prefixed or with ``-alpine``."""
    tags: set[str] = set()
    while len(tags) < n:
        major, minor, patch = rng.randint(1, 3), rng.randint(0, 12), rng.randint(0, 9)
        base = f"{major}.{minor}.{patch}"
        roll = rng.random()
        if roll < 0.1:
            base += f"-rc.{rng.randint(1, 3)}"
        if style == "v":
            base = "v" + base
        elif style == "alpine" and roll >= 0.1:
            tags.add(base + "-alpine")
        tags.add(base)
    return sorted(tags)


def build(
    repo: Path, host: str, refs: int, repos: int, ntags: int, registry: Any
) -> dict[str, Any]:
    """Write the synthetic repository; seed the registry; return the references written."""
    rng = random.Random(20240601)
    charts = repos // 4
    images = repos - charts
    seeded: dict[str, list[str]] = {}
    for i in range(repos):
        kind = "charts" if i >= images else "apps"
        name = f"bench/{kind}/r{i:03d}"
        style = "plain" if kind == "charts" else rng.choice(["plain", "plain", "v", "alpine"])
        seeded[name] = tag_set(rng, ntags, style)
    # seed concurrently: one tiny image per repository, tagged many times
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda kv: registry.seed(kv[0], kv[1]), seeded.items()))

    def current(name: str) -> str:
        stable = [t for t in seeded[name] if "-rc" not in t]
        return rng.choice(stable[: max(1, len(stable) // 2)])

    written: list[tuple[str, str, str]] = []
    chart_names = [n for n in seeded if "/charts/" in n]
    app_names = [n for n in seeded if "/apps/" in n]
    for i, name in enumerate(chart_names):
        tag = current(name)
        path = f"infrastructure/charts/c{i:03d}/ocirepository.yaml"
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\n"
            f"metadata:\n  name: c{i:03d}\n  namespace: flux-system\n"
            f"spec:\n  interval: 1h\n  url: oci://{host}/{name}\n  ref:\n    tag: {tag}\n"
        )
        written.append((path, f"{host}/{name}", tag))
    remaining = refs - len(chart_names)
    order = [app_names[i % len(app_names)] for i in range(remaining)]
    rng.shuffle(order)
    per_file = 4
    for f in range(0, remaining, per_file):
        path = f"apps/team-{f // 40:02d}/app-{f // per_file:03d}/deployment.yaml"
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        containers = []
        for j, name in enumerate(order[f : f + per_file]):
            tag = current(name)
            containers.append(
                f"        - name: c{j}\n          image: {host}/{name}:{tag}\n"
                f"          ports:\n            - containerPort: {8000 + j}\n"
            )
            written.append((path, f"{host}/{name}", tag))
        (repo / path).write_text(
            "apiVersion: apps/v1\nkind: Deployment\n"
            f"metadata:\n  name: app-{f // per_file:03d}\n  namespace: default\n"
            "spec:\n  template:\n    spec:\n      containers:\n" + "".join(containers)
        )
    return {"refs": written, "tags": seeded}


def ensure_renovate(directory: Path) -> Path:
    binary = directory / "node_modules" / "renovate" / "dist" / "renovate.js"
    if not binary.exists():
        directory.mkdir(parents=True, exist_ok=True)
        print(f"installing renovate@{RENOVATE_VERSION} into {directory} (takes minutes) ...")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"renovate@{RENOVATE_VERSION}"],
            cwd=directory,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return binary


def run_fluxbot(repo: Path, host: str) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bot", "plan", str(repo), "--json", "--insecure-registry", host],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return time.perf_counter() - start, json.loads(out.stdout)


def run_renovate(
    binary: Path, repo: Path, host: str, work: Path, base: str = "renovate-base"
) -> tuple[float, dict[str, Any]]:
    config = {
        "enabledManagers": ["flux", "kubernetes"],
        "flux": {"fileMatch": ["\\.ya?ml$"]},
        "kubernetes": {"fileMatch": ["\\.ya?ml$"]},
        "hostRules": [{"matchHost": host, "insecureRegistry": True}],
        "separateMajorMinor": False,
        "onboarding": False,
        "requireConfig": "optional",
        "prHourlyLimit": 0,
        "prConcurrentLimit": 0,
    }
    (work / "renovate-config.json").write_text(json.dumps(config))
    report = work / "renovate-report.json"
    env = {
        **os.environ,
        "RENOVATE_PLATFORM": "local",
        "RENOVATE_DRY_RUN": "lookup",
        "RENOVATE_REPORT_TYPE": "file",
        "RENOVATE_REPORT_PATH": str(report),
        "RENOVATE_CONFIG_FILE": str(work / "renovate-config.json"),
        "RENOVATE_BASE_DIR": str(work / base),  # a fresh one per run: a cold package cache
        "LOG_LEVEL": "warn",
    }
    start = time.perf_counter()
    subprocess.run(
        ["node", str(binary)],
        cwd=repo,
        env=env,
        check=True,
        timeout=1800,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start, json.loads(report.read_text())


def renovate_updates(report: dict[str, Any]) -> dict[tuple[str, str, str], str | None]:
    """(file, image, current) → proposed new version (None: no update) from Renovate's report."""
    out: dict[tuple[str, str, str], str | None] = {}
    for repo in report.get("repositories", {}).values():
        for files in repo.get("packageFiles", {}).values():
            for pf in files:
                for dep in pf.get("deps", []):
                    if dep.get("datasource") != "docker":
                        continue  # e.g. the kubernetes manager's apiVersion dependencies
                    name = dep.get("packageName") or dep.get("depName") or ""
                    name = name.removeprefix("oci://")
                    news = [u.get("newValue") for u in dep.get("updates", []) if u.get("newValue")]
                    key = (pf["packageFile"], name, str(dep.get("currentValue")))
                    out[key] = news[-1] if news else None
    return out


def fluxbot_updates(plan: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    return {
        (u["path"], u["image"], u["old"]): u["new"] for g in plan["groups"] for u in g["updates"]
    }


def explain(old: str, flux: str | None, reno: str | None, tags: list[str]) -> str:
    if flux is None and reno is not None:
        return f"only Renovate: {old} → {reno}"
    if reno is None and flux is not None:
        return f"only fluxbot: {old} → {flux}"
    return f"fluxbot {old} → {flux}, Renovate → {reno}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renovate-dir", type=Path, default=None)
    parser.add_argument("--refs", type=int, default=500)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--tags", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each tool")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fluxbot-bench-") as tmp:
        work = Path(tmp)
        renovate_dir = args.renovate_dir or work / "renovate"
        binary = ensure_renovate(renovate_dir)
        registry = start_registry(work / "registry")
        try:
            repo = work / "repo"
            repo.mkdir()
            t0 = time.perf_counter()
            built = build(repo, registry.host, args.refs, args.repos, args.tags, registry)
            print(
                f"synthetic repo: {len(built['refs'])} references over {len(built['tags'])} "
                f"repositories, {args.tags} tags each (built and seeded in "
                f"{time.perf_counter() - t0:.1f}s)"
            )
            for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
                subprocess.run(
                    ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *cmd],
                    cwd=repo,
                    check=True,
                )
            # untimed warm-up: the registry's storage and Python's bytecode cache, for both tools
            run_fluxbot(repo, registry.host)
            flux_times: list[float] = []
            reno_times: list[float] = []
            for i in range(args.rounds):
                flux_s, plan = run_fluxbot(repo, registry.host)
                flux_times.append(flux_s)
                load_f = os.getloadavg()[0]
                reno_s, report = run_renovate(binary, repo, registry.host, work, f"rb-{i}")
                reno_times.append(reno_s)
                print(
                    f"round {i + 1}: fluxbot {flux_s:6.2f} s (load {load_f:.1f}), "
                    f"renovate {reno_s:6.2f} s (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                shutil.rmtree(work / f"rb-{i}", ignore_errors=True)
        finally:
            registry.close()

    flux = fluxbot_updates(plan)
    reno = renovate_updates(report)
    flux_s, reno_s = statistics.median(flux_times), statistics.median(reno_times)
    print(
        f"fluxbot plan : {flux_s:7.2f} s wall (median of {len(flux_times)}, min "
        f"{min(flux_times):.2f}), {len(flux)} updates proposed, "
        f"{plan['refs_seen']} references seen, problems: {len(plan['problems'])}"
    )
    print(
        f"renovate     : {reno_s:7.2f} s wall (median, min {min(reno_times):.2f}), "
        f"{sum(1 for v in reno.values() if v)} updates "
        f"proposed, {len(reno)} image dependencies seen (docker datasource)"
    )
    print(
        f"ratio        : Renovate / fluxbot = {reno_s / flux_s:.1f}x (medians), "
        f"{min(reno_times) / min(flux_times):.1f}x (best runs); load average now "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    keys = {(f, i, o) for f, i, o in built["refs"]}
    same = diff = 0
    reasons: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for key in sorted(keys):
        a, b = flux.get(key), reno.get(key)
        if key not in reno:
            reasons["not extracted by Renovate"] += 1
            examples.setdefault("not extracted by Renovate", f"{key}")
            continue
        if a == b:
            same += 1
            continue
        diff += 1
        image = key[1].split("/", 1)[1]
        why = explain(key[2], a, b, built["tags"][image])
        kind = why.split(":")[0].split(" ")[0] if ":" in why else "different version"
        reasons[kind] += 1
        examples.setdefault(kind, f"{key[0]} {key[1]}: {why}")
    print(f"agreement    : {same} identical proposals (incl. both 'no update'), {diff} differ")
    for kind, count in reasons.most_common():
        print(f"  {count:4d} x {kind}; e.g. {examples[kind]}")


if __name__ == "__main__":
    main()
