"""``fluxbot policy test --image`` against the real Distribution registry (loopback)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.app.cli import main
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle


def test_policy_on_registry_tags(registry: RegistryHandle) -> None:
    repo = unique_repo("policy")
    registry.seed(repo, ["1.0.0", "1.4.2", "2.0.0-rc.1", "v1.5.0", "latest", "sha256-ab.sig"])
    image = f"{registry.host}/{repo}"
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["policy", "test", "--semver", ">=1.0.0 <2", "--image", image,
         "--insecure-registry", registry.host, "--explain", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["selected"] == "v1.5.0"
    # the default exclusionList dropped the signature tag before the policy saw it
    assert {d["tag"] for d in data["decisions"]} == {
        "1.0.0",
        "1.4.2",
        "2.0.0-rc.1",
        "v1.5.0",
        "latest",
    }
    result = runner.invoke(
        main,
        ["policy", "test", "--alphabetical", "asc", "--image", image, "--exclude", "^v",
         "--insecure-registry", registry.host],
    )  # fmt: skip
    assert (result.exit_code, result.stdout) == (0, "sha256-ab.sig\n")


def test_unreachable_insecure_registry_is_one_line_error(registry: RegistryHandle) -> None:
    result = CliRunner().invoke(
        main, ["policy", "test", "--semver", "*", "--image", f"{registry.host}/{unique_repo()}"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_policy_file_scans_its_image_repository(registry: RegistryHandle, tmp_path: Path) -> None:
    repo = unique_repo("policyfile")
    registry.seed(repo, ["1.0.0", "1.1.0", "1.2.0-debug", "2.0.0"])
    manifest = tmp_path / "image.yaml"
    manifest.write_text(
        f"""\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: app}}
spec:
  image: {registry.host}/{repo}
  exclusionList: ['^1\\.1']
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: app}}
spec:
  imageRepositoryRef: {{name: app}}
  policy: {{semver: {{range: '^1'}}}}
"""
    )
    result = CliRunner().invoke(
        main, ["policy", "test", "--policy", str(manifest), "--insecure-registry", registry.host]
    )
    assert (result.exit_code, result.stdout) == (0, "1.0.0\n"), result.stderr
