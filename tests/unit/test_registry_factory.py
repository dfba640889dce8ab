"""``bot.adapters.registry.factory.client_from_settings``: the one registry client every entry point
builds (``fluxbot tags|plan|run``, the Action, ``fluxbot serve``), from ``Settings.from_env``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.registry import Credentials, RegistryClient, SQLiteTagCache
from bot.adapters.registry import factory as factory_module
from bot.adapters.registry.factory import client_from_settings
from bot.app.settings import Settings
from bot.core.errors import ConfigError

PASSWORD = "canary-pw-5f1e9"  # never in a repr
SECRET_PASSWORD = "canary-secret-pw-77c2"


def _secret_file(path: Path, host: str, user: str, password: str) -> Path:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    doc = json.dumps({"auths": {host: {"auth": auth}}})
    path.write_text(
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\n"
        f"data:\n  .dockerconfigjson: {base64.b64encode(doc.encode()).decode()}\n"
    )
    return path


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments every RegistryClient the factory builds is given."""
    calls: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> RegistryClient:
        calls.append(kwargs)
        return RegistryClient(**kwargs)

    monkeypatch.setattr(factory_module, "RegistryClient", record)
    return calls


def _env(tmp_path: Path) -> dict[str, str]:
    docker = tmp_path / "docker"
    docker.mkdir()
    auth = base64.b64encode(b"dockeruser:dockerpw").decode()
    (docker / "config.json").write_text(json.dumps({"auths": {"docker.example": {"auth": auth}}}))
    secret = _secret_file(tmp_path / "pull.yaml", "secret.example", "k8s", SECRET_PASSWORD)
    return {
        "DOCKER_CONFIG": str(docker),
        "FLUXBOT_REGISTRY_AUTH": json.dumps(
            {"static.example": {"username": "bot", "password": PASSWORD}}
        ),
        "FLUXBOT_REGISTRY_SECRETS": f" {secret} ,",
        "FLUXBOT_REGISTRY_RATES": "docker.io=5,static.example=0.5",
        "FLUXBOT_INSECURE_REGISTRIES": "10.0.0.5:5000",
        "FLUXBOT_REGISTRY_MIRRORS": "docker.io=mirror.internal:5000",
    }


def test_settings_read_registry_variables_and_mask_the_auth(tmp_path: Path) -> None:
    env = _env(tmp_path)
    settings = Settings.from_env(env)
    assert settings.docker_config == str(tmp_path / "docker" / "config.json")
    assert settings.registry_secrets == (str(tmp_path / "pull.yaml"),)
    assert settings.registry_rates == (("docker.io", 5.0), ("static.example", 0.5))
    assert settings.registry_auth == env["FLUXBOT_REGISTRY_AUTH"]
    assert PASSWORD not in repr(settings) and "registry_auth" not in repr(settings)
    assert Settings.from_env({}).docker_config is None
    with pytest.raises(ConfigError, match="FLUXBOT_REGISTRY_AUTH is not JSON"):
        Settings.from_env({"FLUXBOT_REGISTRY_AUTH": "user:pw"})
    with pytest.raises(ConfigError, match="FLUXBOT_REGISTRY_RATES"):
        Settings.from_env({"FLUXBOT_REGISTRY_RATES": "docker.io=0"})


async def test_factory_honours_auth_secrets_docker_config_rates_and_insecure(
    tmp_path: Path, built: list[dict[str, Any]]
) -> None:
    settings = Settings.from_env(_env(tmp_path))
    async with client_from_settings(settings, extra_insecure=["127.0.0.1:5000"]) as client:
        (kwargs,) = built
        assert kwargs["host_rates"] == {"docker.io": 5.0, "static.example": 0.5}
        assert client.guard.is_insecure("10.0.0.5:5000") and client.guard.is_insecure(
            "127.0.0.1:5000"
        )
        # the mirror rule: a mirror is not implied insecure (plain HTTP only when named)
        assert not client.guard.is_insecure("mirror.internal:5000")
        assert client.guard.scheme("mirror.internal:5000") == "https"
        creds: Credentials = kwargs["credentials"]
        static = await creds.lookup("static.example")
        from_secret = await creds.lookup("secret.example")
        from_docker = await creds.lookup("docker.example")
        assert static is not None and (static.username, static.password) == ("bot", PASSWORD)
        assert from_secret is not None and from_secret.password == SECRET_PASSWORD
        assert from_docker is not None and from_docker.username == "dockeruser"
        assert await creds.lookup("unknown.example") is None
        for text in (repr(settings), repr(creds), repr(kwargs)):
            assert PASSWORD not in text and SECRET_PASSWORD not in text
        assert not isinstance(client.cache, SQLiteTagCache)  # no FLUXBOT_CACHE: memory


async def test_arguments_add_to_the_settings(tmp_path: Path, built: list[dict[str, Any]]) -> None:
    """Flags (docker config file, Secret files, tag cache) override/extend the environment."""
    settings = Settings.from_env({**_env(tmp_path), "FLUXBOT_CACHE": str(tmp_path / "env.db")})
    other = tmp_path / "other.json"
    auth = base64.b64encode(b"flaguser:flagpw").decode()
    other.write_text(json.dumps({"auths": {"docker.example": {"auth": auth}}}))
    extra = _secret_file(tmp_path / "extra.yaml", "extra.example", "x", "xpw")
    async with client_from_settings(
        settings, docker_config=other, secrets=[extra], tag_cache=tmp_path / "flag.db"
    ) as client:
        creds: Credentials = built[0]["credentials"]
        flag_docker = await creds.lookup("docker.example")
        assert flag_docker is not None and flag_docker.username == "flaguser"
        assert await creds.lookup("extra.example") is not None
        assert await creds.lookup("secret.example") is not None  # the env's Secret still counts
        assert isinstance(client.cache, SQLiteTagCache)
    assert (tmp_path / "flag.db").exists() and not (tmp_path / "env.db").exists()
    async with client_from_settings(settings) as client:  # FLUXBOT_CACHE when no flag
        assert isinstance(client.cache, SQLiteTagCache)
    assert (tmp_path / "env.db").exists()


async def test_missing_docker_config_is_no_error_but_a_missing_secret_is(tmp_path: Path) -> None:
    settings = Settings(docker_config=str(tmp_path / "nowhere" / "config.json"))
    async with client_from_settings(settings):
        pass
    with pytest.raises(ConfigError, match="cannot read secret"):
        client_from_settings(Settings(registry_secrets=(str(tmp_path / "gone.yaml"),)))


async def test_every_entry_point_builds_the_same_client(
    tmp_path: Path, built: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI, the Action and the server pass the same settings the same way."""
    from bot.app import action, server
    from bot.app.cli import plan as cli_plan
    from bot.app.cli.registry import client_from_options

    env = _env(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(env)
    async with client_from_options([], None, [], None, env):
        pass
    async with cli_plan._registry(settings):
        pass
    async with action._registry(action.settings_from(env, {})):
        pass
    client = server._registry_client(settings)
    await client.aclose()
    assert len(built) == 4

    async def described(kwargs: dict[str, Any]) -> tuple[Any, ...]:
        creds: Credentials = kwargs["credentials"]
        found = [await creds.lookup(h) for h in ("static.example", "secret.example", "x.example")]
        return (
            tuple(kwargs["insecure"]),
            kwargs["host_rates"],
            [(c.username, c.password) if c else None for c in found],
            [config.auths for config in creds.configs],
        )

    first = await described(built[0])
    assert first[0] == ("10.0.0.5:5000",) and first[2][0] == ("bot", PASSWORD)
    for other in built[1:]:
        assert await described(other) == first
