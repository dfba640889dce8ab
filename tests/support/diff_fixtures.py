"""Fixtures for flux-diff tests: a testdata repository copied into a temporary git repo.

The copy is made at test time (never committed); scenarios are branches off a ``base`` commit.
kubectl is required: in CI (``CI=true``) its absence fails, locally it skips.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.adapters.proc import changed_paths, git, git_tree
from tests.support.paths import FLUX_EXAMPLE, IN_CI, ONEDR0P

Edit = str | None | Callable[[str], str]


def require_kubectl() -> None:
    if shutil.which("kubectl") is None and shutil.which("kustomize") is None:
        if IN_CI:
            pytest.fail("kubectl (or kustomize) is required in CI")
        pytest.skip("kubectl not installed")


@dataclass
class ScenarioRepo:
    path: Path

    def git(self, *args: str) -> str:
        return git(self.path, "-c", "user.name=t", "-c", "user.email=t@example.com", *args).decode()

    def commit(self, edits: Mapping[str, Edit], message: str) -> None:
        for name, edit in edits.items():
            target = self.path / name
            if edit is None:
                target.unlink()
                continue
            if callable(edit):
                edit = edit(target.read_text(encoding="utf-8"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def scenario(
        self, name: str, edits: Mapping[str, Edit], base: str = "base"
    ) -> tuple[dict[str, str], dict[str, str], list[str]]:
        """Branch ``name`` off ``base`` with one commit; returns (base tree, head tree, changed)."""
        self.git("checkout", "-q", "-B", name, base)
        self.commit(edits, name)
        return (
            git_tree(self.path, base),
            git_tree(self.path, "HEAD"),
            changed_paths(self.path, base, "HEAD"),
        )


def _make(src: Path, dest: Path) -> ScenarioRepo:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".git"))
    repo = ScenarioRepo(dest)
    repo.git("init", "-q", "-b", "main")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "import")
    repo.git("branch", "base")
    return repo


@pytest.fixture(scope="module")
def flux_example_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioRepo]:
    require_kubectl()
    yield _make(FLUX_EXAMPLE, tmp_path_factory.mktemp("flux-example") / "repo")


@pytest.fixture(scope="module")
def onedr0p_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioRepo]:
    require_kubectl()
    yield _make(ONEDR0P, tmp_path_factory.mktemp("onedr0p") / "repo")


@pytest.fixture
def helm_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A helm 3 binary on PATH (``python -m tests.support.helm_install`` provides one)."""
    from tests.support.helm_install import DEFAULT_DIR

    found = shutil.which("helm")
    if found is None and (DEFAULT_DIR / "helm").is_file():
        found = str(DEFAULT_DIR / "helm")
        monkeypatch.setenv("PATH", f"{DEFAULT_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        if IN_CI:
            pytest.fail("helm is required in CI (python -m tests.support.helm_install)")
        pytest.skip("helm not installed (python -m tests.support.helm_install)")
    return Path(found)
