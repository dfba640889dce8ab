"""``fluxbot tags``, ``inspect`` and ``policy test`` read through registry mirrors as ``plan`` does.

The images are named on hosts that do not exist here (``docker.io``, ``ghcr.io``); only the
loopback registry serving as their mirror has the tags, so a command that ignored the mirror
would fail to resolve or connect.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import main
from tests.support.registry_process import RegistryHandle
from tests.support.registry_servers import Fault, FaultProxy

pytestmark = pytest.mark.integration


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_tags_through_mirror_flag_and_env(registry: RegistryHandle) -> None:
    name = f"mirror-alpine-{uuid.uuid4().hex[:8]}"
    registry.seed(f"library/{name}", ["3.19.0", "3.20.1"])
    flags = ["--insecure-registry", registry.host]
    code, out, err = run(["tags", name, "--mirror", f"docker.io={registry.host}", *flags])
    assert code == 0, err
    assert sorted(out.split()) == ["3.19.0", "3.20.1"]
    env = {"FLUXBOT_REGISTRY_MIRRORS": f"docker.io={registry.host}"}
    code, out, err = run(["tags", f"docker.io/library/{name}", "--json", *flags], env=env)
    assert code == 0, err
    assert sorted(json.loads(out)) == ["3.19.0", "3.20.1"]


def test_inspect_through_mirror_names_it(registry: RegistryHandle) -> None:
    repo = f"org/app-{uuid.uuid4().hex[:8]}"
    digest = registry.seed(repo, ["1.2.3"])
    mirror = ["--mirror", f"ghcr.io={registry.host}", "--insecure-registry", registry.host]
    code, out, err = run(["inspect", f"ghcr.io/{repo}:1.2.3", "--json", *mirror])
    assert code == 0, err
    data = json.loads(out)
    assert data["digest"] == digest
    assert data["mirror"] == f"{registry.host}/{repo}:1.2.3"


def test_policy_test_policy_file_through_mirror(registry: RegistryHandle, tmp_path: Path) -> None:
    repo = f"org/svc-{uuid.uuid4().hex[:8]}"
    registry.seed(repo, ["1.0.0", "1.4.0", "2.0.0"])
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\n"
        f"metadata: {{name: svc}}\nspec: {{image: ghcr.io/{repo}}}\n---\n"
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\n"
        "metadata: {name: svc}\nspec:\n  imageRepositoryRef: {name: svc}\n"
        "  policy: {semver: {range: '^1.0.0'}}\n"
    )
    env = {"FLUXBOT_REGISTRY_MIRRORS": f"ghcr.io={registry.host}"}
    code, out, err = run(
        ["policy", "test", "--policy", str(policy), "--insecure-registry", registry.host], env=env
    )
    assert code == 0, err
    assert out.strip() == "1.4.0"
    # without the mirror the real ghcr.io would be asked: refused here (no network), exit 1
    code, _, err = run(["policy", "test", "--policy", str(policy), "--mirror", "bad"])
    assert code == 1 and "HOST=MIRROR" in err


def test_retry_lines_only_with_verbose(
    registry: RegistryHandle, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    repo = f"org/flaky-{uuid.uuid4().hex[:8]}"
    registry.seed(repo, ["1.0.0"])
    proxy = fault_proxy(registry.url)
    flags = ["--json", "--insecure-registry", proxy.host]
    proxy.inject(Fault("status", match="tags/list", status=500))
    code, out, err = run(["tags", f"{proxy.host}/{repo}", *flags])
    assert code == 0 and json.loads(out) == ["1.0.0"]
    assert "registry.retry" not in err
    proxy.inject(Fault("status", match="tags/list", status=500))
    code, out, err = run(["tags", f"{proxy.host}/{repo}", "-v", *flags])
    assert code == 0 and json.loads(out) == ["1.0.0"]
    assert "registry.retry" in err
