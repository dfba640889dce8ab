"""Honest previews: failures named, unreconciled paths said, damaged trees rendered as far as
they can be. Real git and kubectl on the home-ops fixture (tests/data/render/home-ops)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli.app import main
from bot.app.cli.diff import DIFF_EXIT, RENDER_FAILED_EXIT
from bot.core.render.preview import diff_comment
from tests.integration.test_render_home_ops import DATA, preview, tree
from tests.support.diff_fixtures import ScenarioRepo, _make, require_kubectl


@pytest.fixture
def repo(tmp_path: Path) -> ScenarioRepo:
    require_kubectl()
    r = _make(DATA / "base", tmp_path / "repo")
    # an empty first commit (what `git archive` cannot read as a tar) on its own branch
    r.git("checkout", "-q", "--orphan", "empty")
    r.git("rm", "-q", "-rf", ".")
    r.git("commit", "-q", "--allow-empty", "-m", "empty")
    r.git("checkout", "-q", "main")
    return r


def invoke(repo: ScenarioRepo, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, ["diff", str(repo.path), *args])
    return res.exit_code, res.stdout, res.stderr


def test_path_nothing_reconciles_is_named_not_no_changes() -> None:
    result = preview("placeholder")
    assert result.kustomizations == ()
    assert result.unreconciled == ("kubernetes/flux-system/kustomization.yaml",)
    comment = diff_comment(result)
    assert (
        "- `kubernetes/flux-system/kustomization.yaml`: not rendered: nothing in this "
        "repository reconciles it"
    ) in comment


def test_render_failure_is_one_named_line_and_its_own_exit_code(repo: ScenarioRepo) -> None:
    repo.scenario("broken", {"kubernetes/apps/media/scrob/main/kustomization.yaml": (
        tree("broken")["kubernetes/apps/media/scrob/main/kustomization.yaml"]
    )})  # fmt: skip
    code, out, _ = invoke(repo, "--base", "base", "--head", "broken", "--format", "markdown",
                          "--exit-code")  # fmt: skip
    assert code == RENDER_FAILED_EXIT != DIFF_EXIT
    (line,) = [x for x in out.splitlines() if x.startswith("> ⚠️")]
    assert line.startswith("> ⚠️ flux-system/scrob failed to render on head: kubectl failed: ")
    assert "pvc.yaml" in line
    assert "+0 ~0 -0" not in out and "(render failed)" in out
    code, out, _ = invoke(repo, "--base", "base", "--head", "broken", "--format", "json")
    assert code == 0
    assert json.loads(out)["render_failed"] == ["flux-system/scrob"]


def test_empty_base_tree_renders_everything_as_created(repo: ScenarioRepo) -> None:
    code, out, err = invoke(repo, "--base", "empty", "--head", "base", "--format", "json")
    assert code == 0, err
    # no traceback and no log lines without -v: at most the progress lines
    assert [x for x in err.splitlines() if not x.startswith("fluxbot diff: render")] == []
    data = json.loads(out)
    created = {k["kustomization"]: k["created"] for k in data["kustomizations"]}
    assert created == {
        "flux-system/cluster-apps": 5,
        "flux-system/grafana": 2,
        "flux-system/media-dashboards": 5,
        "flux-system/scrob": 3,
    }
    assert {k["changed"] + k["deleted"] for k in data["kustomizations"]} == {0}


def test_missing_blob_outside_the_change_is_named_and_the_rest_renders(
    repo: ScenarioRepo,
) -> None:
    readme = "kubernetes/apps/media/dashboards/app/README.md"
    sha = repo.git("rev-parse", f"base:{readme}").strip()
    repo.commit(
        {"kubernetes/apps/media/scrob/main/helmrelease.yaml": tree("image")[
            "kubernetes/apps/media/scrob/main/helmrelease.yaml"]},
        "image",
    )  # fmt: skip
    (repo.path / ".git" / "objects" / sha[:2] / sha[2:]).unlink()
    code, out, err = invoke(repo, "--base", "base", "--head", "HEAD", "--format", "json",
                            "--exit-code")  # fmt: skip
    assert code == DIFF_EXIT, err
    data = json.loads(out)
    assert [(k["kustomization"], k["changed"]) for k in data["kustomizations"]] == [
        ("flux-system/scrob", 1)
    ]
    assert f"{readme} (base): blob missing from the repository, not read" in data["problems"]
    assert f"{readme} (head): blob missing from the repository, not read" in data["problems"]
