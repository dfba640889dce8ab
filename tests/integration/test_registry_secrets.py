"""Credential canaries: ``fluxbot --debug`` as a process never prints a password or a token.

Every run goes through real auth (htpasswd Basic, token server) and checks stdout and stderr
(logs, ``--debug`` tracebacks, error lines) for the password, its base64 forms and every token the
token server issued.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle
from tests.support.registry_servers import Fault, FaultProxy

ROOT = Path(__file__).resolve().parents[2]


def fluxbot(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``python -m bot --debug ARGS``: exit code and everything it printed."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--debug", *args],
        env={**os.environ, "DOCKER_CONFIG": "/nonexistent", **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    return proc.returncode, proc.stdout + proc.stderr


def forms(user: str, secret: str) -> list[str]:
    """The ways a secret could leak: itself, Basic's base64, base64 of the secret alone."""
    b64 = [base64.b64encode(s.encode()).decode() for s in (f"{user}:{secret}", secret)]
    return [secret, *b64, *(b.rstrip("=") for b in b64)]


def assert_no_leak(output: str, secrets: Iterable[str]) -> None:
    for secret in secrets:
        assert secret not in output, f"credential leaked: {secret[:4]}…"


def static_auth(host: str, user: str, password: str) -> str:
    return json.dumps({host: {"username": user, "password": password}})


def test_htpasswd_logs_and_tracebacks_hold_no_password(
    registry_htpasswd: RegistryHandle, fault_proxy: Callable[[str], FaultProxy], tmp_path: Path
) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    reg.seed(repo, ["1.0.0"])
    # one 500 on the way: the retry is logged with -v (so there are log lines to look at)
    proxy = fault_proxy(reg.url).inject(Fault("status", match="tags/list", status=500))
    auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {proxy.host: {"auth": auth}}}))
    env = {"FLUXBOT_INSECURE_REGISTRIES": proxy.host, "DOCKER_CONFIG": str(tmp_path)}
    code, out = fluxbot(["tags", f"{proxy.host}/{repo}", "--json", "-v"], env)
    assert code == 0, out
    assert "registry.retry" in out and "1.0.0" in out
    assert_no_leak(out, forms(reg.username, reg.password))

    wrong = "canary-wrong-pw-4f1e"
    env = {
        "FLUXBOT_INSECURE_REGISTRIES": reg.host,
        "FLUXBOT_REGISTRY_AUTH": static_auth(reg.host, reg.username, wrong),
    }
    code, out = fluxbot(["inspect", f"{reg.host}/{repo}:1.0.0"], env)
    assert code == 1 and "Traceback" in out and "AuthError" in out, out
    assert_no_leak(out, forms(reg.username, wrong))


def test_token_auth_outputs_hold_no_password_or_token(registry_token: RegistryHandle) -> None:
    reg = registry_token
    server = reg.token_server
    assert server is not None
    user, password = "canary-user", "canary-pw-9b2c"
    server.users[user] = password
    repo = unique_repo()
    reg.seed(repo, ["2.0.0"])
    before = len(server.issued)
    env = {
        "FLUXBOT_INSECURE_REGISTRIES": "127.0.0.1",  # the registry and its token realm
        "FLUXBOT_REGISTRY_AUTH": static_auth(reg.host, user, password),
    }
    code, out = fluxbot(["inspect", f"{reg.host}/{repo}:2.0.0", "--json"], env)
    assert code == 0, out
    assert json.loads(out[out.index("{") :])["digest"].startswith("sha256:")
    tokens = server.issued[before:]
    assert tokens, "the token server handed out no token: nothing was checked"
    assert any(account == user for _, account in server.scopes)
    assert_no_leak(out, [*forms(user, password), *tokens, *(t.split(".")[2] for t in tokens)])

    env["FLUXBOT_REGISTRY_AUTH"] = static_auth(reg.host, user, "canary-wrong-pw-77aa")
    code, out = fluxbot(["tags", f"{reg.host}/{repo}"], env)
    assert code == 1 and "Traceback" in out, out
    assert_no_leak(out, forms(user, "canary-wrong-pw-77aa"))
