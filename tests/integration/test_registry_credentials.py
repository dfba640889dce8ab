"""Credentials from docker config.json (auths, credHelpers, identitytoken) and k8s Secrets,
used against the real registry in htpasswd and token modes."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from bot.adapters.registry import Credentials, RegistryClient
from bot.core.errors import AuthError
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def write_helper(
    directory: Path, name: str, username: str, secret: str, exit_code: int = 0
) -> Path:
    """A docker-credential-<name> script that logs its stdin and answers with fixed values."""
    script = directory / f"docker-credential-{name}"
    answer = json.dumps({"ServerURL": "x", "Username": username, "Secret": secret})
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] || exit 3\n'
        f"cat > {directory}/{name}.stdin\n"
        f"echo '{answer}'\n"
        f"exit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


async def test_docker_config_auths(registry_htpasswd: RegistryHandle, tmp_path: Path) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    reg.seed(repo, ["1"])
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"auths": {f"http://{reg.host}/v2/": {"auth": b64("fluxbot:s3cret-pass")}}})
    )
    async with RegistryClient(insecure=[reg.host], credentials=Credentials.load(config)) as client:
        assert await client.tags(f"{reg.host}/{repo}") == ["1"]


async def test_cred_helper(registry_htpasswd: RegistryHandle, tmp_path: Path) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    reg.seed(repo, ["1"])
    write_helper(tmp_path, "fluxtest", reg.username, reg.password)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "auths": {reg.host: {"auth": b64("fluxbot:wrong")}},
                "credHelpers": {reg.host: "fluxtest"},
            }
        )
    )
    creds = Credentials.load(config, helper_path=f"{tmp_path}:/usr/bin:/bin")
    async with RegistryClient(insecure=[reg.host], credentials=creds) as client:
        assert await client.tags(f"{reg.host}/{repo}") == ["1"]
        assert await client.digest(f"{reg.host}/{repo}:1")
    # credHelpers win over auths; the helper got the host on stdin, and ran once
    assert (tmp_path / "fluxtest.stdin").read_text() == reg.host


async def test_creds_store_for_hosts_without_an_auths_entry(
    registry_htpasswd: RegistryHandle, tmp_path: Path
) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    reg.seed(repo, ["1"])
    write_helper(tmp_path, "fluxstore", reg.username, reg.password)
    config = tmp_path / "config.json"
    # as docker writes it with a store: an empty auths entry, the secret in the store
    config.write_text(json.dumps({"auths": {reg.host: {}}, "credsStore": "fluxstore"}))
    creds = Credentials.load(config, helper_path=f"{tmp_path}:/usr/bin:/bin")
    async with RegistryClient(insecure=[reg.host], credentials=creds) as client:
        assert await client.tags(f"{reg.host}/{repo}") == ["1"]
    assert (tmp_path / "fluxstore.stdin").read_text() == reg.host


async def test_cred_helper_failures(tmp_path: Path) -> None:
    write_helper(tmp_path, "broken", "u", "p", exit_code=1)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {"credHelpers": {"a.example": "broken", "b.example": "absent"}, "credsStore": "absent"}
        )
    )
    creds = Credentials.load(config, helper_path=f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(AuthError, match=r"docker-credential-broken failed for a\.example"):
        await creds.lookup("a.example")
    with pytest.raises(AuthError, match="docker-credential-absent not found"):
        await creds.lookup("b.example")
    assert await creds.lookup("c.example") is None  # credsStore missing: anonymous


async def test_k8s_dockerconfigjson_secret(
    registry_htpasswd: RegistryHandle, tmp_path: Path
) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    reg.seed(repo, ["2"])
    inner = json.dumps({"auths": {reg.host: {"username": reg.username, "password": reg.password}}})
    secret = tmp_path / "pull-secret.yaml"
    secret.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n"
        "type: kubernetes.io/dockerconfigjson\n"
        f"data:\n  .dockerconfigjson: {b64(inner)}\n"
    )
    creds = Credentials.load(secrets=[secret])
    async with RegistryClient(insecure=[reg.host], credentials=creds) as client:
        assert await client.tags(f"{reg.host}/{repo}") == ["2"]


async def test_token_auth_with_password_and_identity_token(
    registry_token: RegistryHandle, tmp_path: Path
) -> None:
    reg = registry_token
    server = reg.token_server
    assert server is not None
    repo = unique_repo()
    reg.seed(repo, ["1"])
    server.refresh_tokens["idtok-123"] = "robot"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {reg.host: {"identitytoken": "idtok-123"}}}))
    async with RegistryClient(
        insecure=[reg.host, server.host], credentials=Credentials.load(config)
    ) as client:
        assert await client.tags(f"{reg.host}/{repo}") == ["1"]
    method, _, _ = server.requests[-1]
    assert method == "POST"
    assert server.scopes[-1] == (f"repository:{repo}:pull", "robot")

    write_helper(tmp_path, "tok", "<token>", "idtok-123")
    config.write_text(json.dumps({"credHelpers": {reg.host: "tok"}}))
    creds = Credentials.load(config, helper_path=f"{tmp_path}:/usr/bin:/bin")
    async with RegistryClient(insecure=[reg.host, server.host], credentials=creds) as client:
        assert await client.tags(f"{reg.host}/{repo}") == ["1"]
    assert server.scopes[-1] == (f"repository:{repo}:pull", "robot")

    config.write_text(json.dumps({"auths": {reg.host: {"auth": b64("fluxbot:bad")}}}))
    async with RegistryClient(
        insecure=[reg.host, server.host], credentials=Credentials.load(config)
    ) as client:
        with pytest.raises(AuthError, match="refused the configured credentials"):
            await client.tags(f"{reg.host}/{repo}")


async def test_credentials_never_in_errors_or_repr(
    registry_htpasswd: RegistryHandle,
) -> None:
    reg = registry_htpasswd
    creds = Credentials.load(static={reg.host: {"username": "fluxbot", "password": "hunter2-pw"}})
    assert "hunter2-pw" not in repr(creds)
    cred = await creds.lookup(reg.host)
    assert cred is not None and "hunter2-pw" not in repr(cred)
    async with RegistryClient(insecure=[reg.host], credentials=creds) as client:
        with pytest.raises(AuthError) as caught:
            await client.tags(f"{reg.host}/{unique_repo()}")
    assert "hunter2" not in str(caught.value)
    assert b64("fluxbot:hunter2-pw") not in str(caught.value)


async def test_cred_helper_answers_expire(tmp_path: Path) -> None:
    script = tmp_path / "docker-credential-count"
    script.write_text(
        f'#!/bin/sh\necho run >> {tmp_path}/runs\necho \'{{"Username": "u", "Secret": "s"}}\'\n'
    )
    script.chmod(0o755)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {"ecr.example": "count"}}))
    creds = Credentials.load(config, helper_path=f"{tmp_path}:/usr/bin:/bin")
    now = [0.0]
    creds.clock = lambda: now[0]
    for _ in range(3):
        assert await creds.lookup("ecr.example") is not None
    now[0] = creds.ttl + 1
    assert await creds.lookup("ecr.example") is not None
    assert (tmp_path / "runs").read_text().count("run") == 2
