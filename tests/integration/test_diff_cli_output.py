"""``fluxbot diff`` on a small generated repository: size caps, ``--output``, ``.fluxbot.yaml``.

Real git and kubectl. Eight Kustomizations each change a ConfigMap by ~12,000 characters, so
the comment must be truncated (with a note) while ``--output`` keeps every diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli.app import main
from bot.app.cli.diff import DIFF_EXIT
from bot.core.render.preview import GITHUB_COMMENT_LIMIT
from tests.support.diff_fixtures import ScenarioRepo, require_kubectl

APPS = 8
KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: app{i}, namespace: flux-system}}
spec:
  path: ./apps/app{i}
  targetNamespace: web
  sourceRef: {{kind: GitRepository, name: flux-system}}
"""
CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {{app.kubernetes.io/version: "{version}"}}
data:
{lines}
"""


def _cm(seed: str, version: str = "1.0") -> str:
    lines = "\n".join(f"  key{n:03d}: {seed}-{n:03d}-" + "x" * 40 for n in range(200))
    return CM.format(version=version, lines=lines)


@pytest.fixture
def repo(tmp_path: Path) -> ScenarioRepo:
    require_kubectl()
    r = ScenarioRepo(tmp_path / "repo")
    r.path.mkdir()
    r.git("init", "-q", "-b", "main")
    files: dict[str, str | None] = {"README.md": "demo\n"}
    for i in range(APPS):
        files[f"clusters/app{i}.yaml"] = KS.format(i=i)
        files[f"apps/app{i}/cm.yaml"] = _cm("old")
    r.commit(files, "import")
    r.git("branch", "base")
    return r


def _invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["diff", *args])
    return res.exit_code, res.stdout


def test_comment_is_capped_and_output_file_holds_everything(
    repo: ScenarioRepo, tmp_path: Path
) -> None:
    repo.scenario("big", {f"apps/app{i}/cm.yaml": _cm("new") for i in range(APPS)})
    full = tmp_path / "full.md"
    code, out = _invoke(
        str(repo.path), "--base", "base", "--head", "HEAD", "--format", "markdown",
        "--output", str(full), "--exit-code",
    )  # fmt: skip
    assert code == DIFF_EXIT
    assert len(out) <= GITHUB_COMMENT_LIMIT
    assert "⚠️ Truncated:" in out and "not shown (comment size limit)" in out
    assert "run `fluxbot diff --base <base branch> --output diff.md` for the full diff." in out
    shown = out.count("<details><summary><code>flux-system/app")
    assert 0 < shown < APPS
    text = full.read_text(encoding="utf-8")
    assert len(text) > GITHUB_COMMENT_LIMIT and "Truncated" not in text
    assert text.count("<details><summary><code>flux-system/app") == APPS
    for i in range(APPS):  # every Kustomization's summary row is in the capped comment too
        assert f"| `flux-system/app{i}` | 0 | 1 | 0 |" in out


def test_noise_labels_configured_from_the_base_side(repo: ScenarioRepo) -> None:
    bump = {"apps/app0/cm.yaml": _cm("old", version="2.0")}
    repo.scenario("version-only", bump)
    code, out = _invoke(str(repo.path), "--base", "base", "--head", "HEAD", "--exit-code")
    assert code == 0 and out.startswith("no changes (1 affected")  # default: version label noise

    # the PR itself cannot change what counts as noise: head-side config is not read
    repo.scenario("head-config", {**bump, ".fluxbot.yaml": "diff: {noise: {labels: []}}\n"})
    code, out = _invoke(str(repo.path), "--base", "base", "--head", "HEAD", "--exit-code")
    assert code == 0 and out.startswith("no changes")

    # configured on the base side: the label is no longer noise, the change shows
    repo.git("checkout", "-q", "base")
    repo.commit({".fluxbot.yaml": "diff:\n  noise:\n    labels: [helm.sh/chart]\n"}, "config")
    repo.scenario("version-shown", bump)
    code, out = _invoke(str(repo.path), "--base", "base", "--head", "HEAD", "--format", "json")
    assert code == 0
    (entry,) = json.loads(out)["kustomizations"]
    diff = entry["objects"][0]["diff"]
    assert "-    app.kubernetes.io/version: '1.0'\n+    app.kubernetes.io/version: '2.0'" in diff


def test_invalid_config_keeps_defaults_and_says_so(repo: ScenarioRepo) -> None:
    repo.git("checkout", "-q", "base")
    repo.commit({".fluxbot.yaml": "diff: {noise: {labelz: []}}\n"}, "bad config")
    repo.scenario("with-bad-config", {"apps/app1/cm.yaml": _cm("newer")})
    code, out = _invoke(str(repo.path), "--base", "base", "--head", "HEAD")
    assert code == 0
    assert out.startswith("=== flux-system/app1: +0 ~1 -0")
    assert "problem: .fluxbot.yaml: $.diff.noise: Additional properties" in out


def test_usage_errors_exit_2_and_errors_exit_1(repo: ScenarioRepo) -> None:
    code, _ = _invoke(str(repo.path))  # --base is required
    assert code == 2
    code, _ = _invoke(str(repo.path), "--base", "base", "--format", "yaml")
    assert code == 2
    res = CliRunner().invoke(main, ["diff", str(repo.path), "--base", "no-such-ref"])
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "Traceback" not in res.output
