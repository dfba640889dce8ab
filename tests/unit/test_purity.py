"""The pure core must not touch the network, subprocesses, the environment or the event loop.

Walks the AST of every pure-core module (DESIGN.md §2) and every module it imports from ``bot``,
and fails on forbidden imports or attribute uses. Adapters are allowed all of these.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"

PURE = ["core"]  # the folder is the rule (DESIGN.md §2): every module under bot/core/

# Declarations only (exceptions, the Forge Protocol's async signatures): importing them is no I/O.
INTERFACES = ("bot.core.errors", "bot.ports", "bot.ports.StatusState")

FORBIDDEN_MODULES = {
    "socket",
    "ssl",
    "subprocess",
    "asyncio",
    "http",
    "urllib.request",
    "httpx",
    "aiohttp",
    "requests",
    "gidgethub.aiohttp",
    "gidgethub.httpx",
    "gitlab",
    "multiprocessing",
    "threading",
    "shutil",
    "time",
}
FORBIDDEN_ATTRS = {
    ("os", "environ"),
    ("os", "getenv"),
    ("os", "system"),
    ("os", "popen"),
    ("os", "fork"),
    ("os", "spawnv"),
    ("os", "putenv"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
}


def _pure_files() -> list[Path]:
    files: list[Path] = []
    for entry in PURE:
        path = BOT / entry
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.exists():
            files.append(path)
    return files


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    for cand in (BOT / rel.with_suffix(".py"), BOT / rel / "__init__.py"):
        if cand.exists():
            return cand
    return None


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(BOT.parent))
    except ValueError:
        return path.name


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                if ".".join(parts[:i]) in FORBIDDEN_MODULES:
                    found.append(f"{_rel(path)}:{node.lineno} imports {name}")
                    break
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in FORBIDDEN_ATTRS
        ):
            found.append(f"{_rel(path)}:{node.lineno} uses {node.value.id}.{node.attr}")
        if isinstance(node, ast.AsyncFunctionDef | ast.Await):
            found.append(f"{_rel(path)}:{node.lineno} is async")
    return found


def _closure(files: list[Path]) -> list[Path]:
    """The pure files plus every ``bot`` module they import, transitively."""
    seen: dict[Path, None] = {}
    todo = list(files)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen[path] = None
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods: list[str] = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for mod in mods:
                if mod.split(".")[0] == "bot" and mod not in INTERFACES:
                    target = _module_file(mod)
                    if target is not None:
                        todo.append(target)
    return sorted(seen)


def test_pure_core_exists() -> None:
    assert (BOT / "core" / "policy").is_dir()
    assert _pure_files(), "no pure-core modules found"


@pytest.mark.parametrize("path", _closure(_pure_files()), ids=lambda p: str(p.relative_to(BOT)))
def test_pure_module_does_no_io(path: Path) -> None:
    assert _violations(path) == []


def test_checker_catches_violations(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import subprocess\nimport os\nfrom httpx import get\nx = os.environ['A']\n"
        "async def f():\n    pass\n"
    )
    problems = " ".join(_violations(bad)).replace(str(tmp_path), "")
    assert "subprocess" in problems and "httpx" in problems and "os.environ" in problems
    assert "async" in problems
