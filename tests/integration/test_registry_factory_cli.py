"""``fluxbot plan`` reads registry credentials like every entry point
(``bot.adapters.registry.factory``):
``FLUXBOT_REGISTRY_AUTH`` and ``FLUXBOT_REGISTRY_SECRETS`` against the htpasswd loopback registry,
through the real CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import main
from tests.support.registry_fixtures import RegistryHandle, unique_repo

pytestmark = pytest.mark.integration

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.0.0
"""


def _plan(repo: Path, env: dict[str, str]) -> dict[str, object]:
    base = {"DOCKER_CONFIG": str(repo.parent / "no-docker-config")}
    result = CliRunner().invoke(main, ["plan", str(repo), "--json"], env={**base, **env})
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _updates(plan: dict[str, object]) -> list[tuple[str, str, str]]:
    groups = plan["groups"]
    assert isinstance(groups, list)
    return [(u["image"], u["old"], u["new"]) for g in groups for u in g["updates"]]


@pytest.fixture
def fleet(registry_htpasswd: RegistryHandle, tmp_path: Path) -> tuple[Path, str]:
    image = f"{registry_htpasswd.host}/{unique_repo('factory')}"
    registry_htpasswd.seed(image.split("/", 1)[1], ["1.0.0", "1.1.0"])
    repo = tmp_path / "fleet"
    repo.mkdir()
    (repo / "deployment.yaml").write_text(DEPLOYMENT.format(image=image))
    return repo, image


def test_plan_authenticates_with_fluxbot_registry_auth(
    registry_htpasswd: RegistryHandle, fleet: tuple[Path, str]
) -> None:
    reg = registry_htpasswd
    repo, image = fleet
    insecure = {"FLUXBOT_INSECURE_REGISTRIES": reg.host}

    # the registry wants a password: the only lookup fails, so the plan exits 1 in one line
    anonymous = CliRunner().invoke(
        main,
        ["plan", str(repo), "--json"],
        env={"DOCKER_CONFIG": str(repo.parent / "no-docker-config"), **insecure},
    )
    assert anonymous.exit_code == 1, anonymous.output
    assert anonymous.stderr.strip().splitlines() == [
        f"error: 1 of 1 lookups failed: {reg.host} refused the credentials"
    ]

    auth = {reg.host: {"username": reg.username, "password": reg.password}}
    plan = _plan(repo, {**insecure, "FLUXBOT_REGISTRY_AUTH": json.dumps(auth)})
    assert _updates(plan) == [(image, "1.0.0", "1.1.0")]
    assert plan["problems"] == []


def test_plan_authenticates_with_a_kubernetes_secret_file(
    registry_htpasswd: RegistryHandle, fleet: tuple[Path, str], tmp_path: Path
) -> None:
    reg = registry_htpasswd
    repo, image = fleet
    basic = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    config = json.dumps({"auths": {reg.host: {"auth": basic}}})
    secret = tmp_path / "pull-secret.json"
    secret.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()},
            }
        )
    )
    env = {"FLUXBOT_INSECURE_REGISTRIES": reg.host, "FLUXBOT_REGISTRY_SECRETS": str(secret)}
    assert _updates(_plan(repo, env)) == [(image, "1.0.0", "1.1.0")]
