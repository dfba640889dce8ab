"""Honest ``plan``/``run``: an outage is exit 1 with one summary line, a partial failure lists
each failed image with its files; compose files and ``exclude.kinds`` through the real CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app.cli import main
from tests.support.registry_servers import Fault, FaultProxy

pytestmark = pytest.mark.integration


def deploy(name: str, image: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        f"        - name: {name}\n          image: {image}\n"
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def dead_host() -> str:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_total_outage_is_exit_1_with_one_summary_line(tmp_path: Path) -> None:
    host = dead_host()
    repo = write(tmp_path, {f"apps/{n}.yaml": deploy(n, f"{host}/o/{n}:1.0.0") for n in "ab"})
    result = CliRunner().invoke(main, ["plan", str(repo), "--insecure-registry", host])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == f"error: 2 of 2 lookups failed: {host} unreachable"
    assert "registry.retry" not in result.stderr  # retries only with -v
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "init"], check=True)  # fmt: skip
    result = CliRunner().invoke(main, ["run", str(repo), "--dry-run", "--insecure-registry", host])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().endswith(f"2 of 2 lookups failed: {host} unreachable")


def test_partial_failure_lists_image_and_files_exit_0(tmp_path: Path, registry: Any) -> None:
    ok, down = f"h/ok{uuid.uuid4().hex[:6]}", f"h/down{uuid.uuid4().hex[:6]}"
    registry.seed(ok, ["1.0.0", "1.1.0"])
    registry.seed(down, ["1.0.0"])
    proxy = FaultProxy(f"http://{registry.host}").start()
    try:
        proxy.inject(*[Fault("status", match=f"/{down}/tags", status=500) for _ in range(8)])
        files = {
            "apps/ok.yaml": deploy("ok", f"{proxy.host}/{ok}:1.0.0"),
            "apps/down.yaml": deploy("down", f"{proxy.host}/{down}:1.0.0"),
            "hosts/nas/compose.yaml": f"services:\n  web:\n    image: {proxy.host}/{ok}:1.0.0\n",
        }
        repo = write(tmp_path, files)
        args = ["plan", str(repo), "--insecure-registry", proxy.host]
        result = CliRunner().invoke(main, [*args, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        (failure,) = data["failures"]
        assert failure["image"] == f"{proxy.host}/{down}"
        assert failure["references"] == ["apps/down.yaml:9"] and "500" in failure["error"]
        moved = sorted((u["path"], u["new"]) for g in data["groups"] for u in g["updates"])
        assert moved == [("apps/ok.yaml", "1.1.0"), ("hosts/nas/compose.yaml", "1.1.0")]
        proxy.inject(*[Fault("status", match=f"/{down}/tags", status=500) for _ in range(8)])
        text = CliRunner().invoke(main, args)
        assert text.exit_code == 0
        assert "1 of 2 lookups failed:" in text.stdout
        assert "referenced at apps/down.yaml:9" in text.stdout
    finally:
        proxy.close()


def test_exclude_kinds_leaves_those_objects_alone(tmp_path: Path, registry: Any) -> None:
    name = f"k/envoy{uuid.uuid4().hex[:6]}"
    registry.seed(name, ["1.0.0", "1.2.0"])
    envoy = (
        "apiVersion: gateway.envoyproxy.io/v1alpha1\nkind: EnvoyProxy\nmetadata: {name: p}\n"
        f"spec:\n  container:\n    image: {registry.host}/{name}:1.0.0\n"
    )
    repo = write(tmp_path, {"gw/envoy.yaml": envoy})
    args = ["plan", str(repo), "--json", "--insecure-registry", registry.host]
    data = json.loads(CliRunner().invoke(main, args).stdout)
    assert [u["new"] for g in data["groups"] for u in g["updates"]] == ["1.2.0"]
    write(tmp_path, {".fluxbot.yaml": "exclude:\n  kinds: [EnvoyProxy]\n"})
    data = json.loads(CliRunner().invoke(main, args).stdout)
    assert data["groups"] == []
