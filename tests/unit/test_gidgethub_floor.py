"""The gidgethub floor in pyproject.toml is the release whose hooks the GitHub adapter overrides.

Regression test of issue 11: pyproject said ``gidgethub>=5.3``, but ``manage_rate_limit`` and
``handle_rate_limit_error`` first exist in gidgethub 6.0 (5.4.0, the last 5.x, has neither): on
5.x every quota wait, retry and write pacing of :class:`GitHubClient` was silently skipped,
because nothing calls a hook the base class does not have.
"""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version

from gidgethub.abc import GitHubAPI as Base
from packaging.requirements import Requirement
from packaging.version import Version

from bot.adapters.github.api import GIDGETHUB_HOOKS, GIDGETHUB_HOOKS_SINCE, GitHubClient
from tests.support.paths import REPO

HOOKS_SINCE = Version("6.0")  # gidgethub 6.0.0 changelog: "Add rate limit handling hooks"


def floor() -> Version:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    [req] = [r for r in map(Requirement, data["project"]["dependencies"]) if r.name == "gidgethub"]
    [spec] = [s for s in req.specifier if s.operator == ">="]
    return Version(spec.version)


def test_the_floor_is_the_release_of_the_hooks() -> None:
    assert floor() == HOOKS_SINCE == Version(GIDGETHUB_HOOKS_SINCE)
    assert Version(version("gidgethub")) >= floor()


def test_every_overridden_hook_exists_on_the_installed_gidgethub() -> None:
    assert set(GIDGETHUB_HOOKS) == {"_request", "manage_rate_limit", "handle_rate_limit_error"}
    for name in GIDGETHUB_HOOKS:
        assert name in vars(GitHubClient), f"GitHubClient does not override {name}"
        base = getattr(Base, name, None)
        assert base is not None, f"gidgethub {version('gidgethub')} has no {name}: never called"
        ours = inspect.signature(getattr(GitHubClient, name))
        assert list(ours.parameters) == list(inspect.signature(base).parameters), name
