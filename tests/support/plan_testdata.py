"""Helpers for plan/run tests and benchmarks on real Flux repositories.

* :func:`git_copy` copies a read-only test-data repository into a fresh git repository;
* :func:`seed_bumps` seeds a loopback registry with, for every image reference found, its current
  tag and the same tag with its last number bumped (``v1.2.3-alpine`` → ``v1.2.4-alpine``), and
  computes **independently of fluxbot's policy code** which update each reference should get:
  the highest seeded tag of the same shape (prefix, number of parts, suffix) above the current.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TAG = re.compile(r"^(v?)(\d+(?:\.\d+)*)(-.*)?$")


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout


def git_copy(src: Path, dst: Path, config: str | None = None) -> Path:
    """``src`` copied to ``dst`` as a one-commit git repository on ``main`` (with ``config`` as
    its ``.fluxbot.yaml`` when given)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"), symlinks=True)
    if config is not None:
        (dst / ".fluxbot.yaml").write_text(config, encoding="utf-8")
    git(dst, "init", "-q", "-b", "main")
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "-m", "import")
    return dst


def read_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text("utf-8")
        for p in sorted(root.rglob("*"))
        if p.suffix in (".yaml", ".yml") and p.is_file() and ".git" not in p.parts
    }


def _shape(tag: str) -> tuple[str, tuple[int, ...], str] | None:
    m = _TAG.match(tag)
    if m is None:
        return None
    return m.group(1), tuple(int(x) for x in m.group(2).split(".")), m.group(3) or ""


def bump(tag: str) -> str | None:
    shape = _shape(tag)
    if shape is None:
        return None
    prefix, nums, suffix = shape
    return prefix + ".".join(str(n) for n in (*nums[:-1], nums[-1] + 1)) + suffix


def best(current: str, tags: Iterable[str]) -> str:
    """The highest tag of ``current``'s shape above it (``current`` if none)."""
    cur = _shape(current)
    if cur is None:
        return current
    out, out_key = current, cur[1]
    for tag in tags:
        s = _shape(tag)
        if s and (s[0], len(s[1]), s[2]) == (cur[0], len(cur[1]), cur[2]) and s[1] > out_key:
            out, out_key = tag, s[1]
    return out


def repository_path(image: str) -> tuple[str, str]:
    """(registry host, repository path) of an image name, Docker Hub spelled out."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", image
    if host in ("docker.io", "index.docker.io") and "/" not in path:
        path = f"library/{path}"
    return host, path


@dataclass(frozen=True)
class Expected:
    """One reference's expected update."""

    file: str
    line: int
    image: str
    old: str
    new: str
    digest: str | None  # the new digest when the reference is pinned
    lines: frozenset[int]  # lines the edit changes


def seed_bumps(refs: Iterable[Any], registry: Any) -> tuple[dict[str, str], list[Expected]]:
    """Seed ``registry``; return the mirrors to use and the expected updates."""
    usable = [r for r in refs if r.unresolved is None and r.tag and r.image]
    tags: dict[str, set[str]] = defaultdict(set)
    hosts: set[str] = set()
    for r in usable:
        host, path = repository_path(r.image)
        hosts.add(host)
        tags[path].add(r.tag)
        bumped = bump(r.tag)
        if bumped:
            tags[path].add(bumped)
    with ThreadPoolExecutor(max_workers=8) as pool:
        seeded = pool.map(lambda item: registry.seed(item[0], sorted(item[1])), tags.items())
        digests = dict(zip(tags, seeded, strict=True))
    expected = []
    for r in usable:
        path = repository_path(r.image)[1]
        new = best(r.tag, tags[path])
        if new == r.tag and not r.digest:
            continue
        if new == r.tag and r.digest == digests[path]:
            continue
        changed = frozenset(s.line for s in r.spans if s.role.value != "name")
        expected.append(
            Expected(
                r.file, r.line, r.image, r.tag, new, digests[path] if r.digest else None, changed
            )
        )
    mirrors = {host: registry.host for host in sorted(hosts)}
    return mirrors, expected


def numstat_by_branch(repo: Path, base: str = "main") -> dict[str, dict[str, tuple[int, int]]]:
    """``git diff --numstat base branch`` for every ``fluxbot/*`` branch."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    branches = git(repo, "branch", "--list", "fluxbot/*", "--format=%(refname:short)").split()
    for branch in branches:
        stats: dict[str, tuple[int, int]] = {}
        for line in git(repo, "diff", "--numstat", base, branch).splitlines():
            added, deleted, path = line.split("\t")
            stats[path] = (int(added), int(deleted))
        out[branch] = stats
    return out


def expected_numstat(
    expected: Iterable[Expected], branch_of: Mapping[str, str]
) -> dict[str, dict[str, tuple[int, int]]]:
    """What ``numstat_by_branch`` should give: per branch and file, one +/- per changed line."""
    lines: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for e in expected:
        lines[branch_of[e.image]][e.file] |= e.lines
    return {b: {f: (len(ls), len(ls)) for f, ls in files.items()} for b, files in lines.items()}
