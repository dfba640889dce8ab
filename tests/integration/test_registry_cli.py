"""``fluxbot tags`` / ``fluxbot inspect`` against the real registry."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import main
from tests.support.registry_fixtures import unique_repo
from tests.support.registry_process import RegistryHandle


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_tags_text_json_and_exclusions(registry: RegistryHandle) -> None:
    repo = unique_repo()
    registry.seed(repo, ["1.0.0", "1.1.0", "sha256-x.sig"])
    image = f"{registry.host}/{repo}"
    code, out, _ = run(["tags", image, "--insecure-registry", registry.host])
    assert code == 0 and sorted(out.split()) == ["1.0.0", "1.1.0"]
    code, out, _ = run(
        ["tags", image, "--json", "--all"],
        env={"FLUXBOT_INSECURE_REGISTRIES": f"x,{registry.host}"},
    )
    assert code == 0 and sorted(json.loads(out)) == ["1.0.0", "1.1.0", "sha256-x.sig"]
    code, out, _ = run(["tags", image, "--json", "--exclude", r"^1\.0", "--insecure-registry",
                        registry.host])  # fmt: skip
    assert sorted(json.loads(out)) == ["1.1.0", "sha256-x.sig"]


def test_errors_are_one_line_exit_1(registry: RegistryHandle) -> None:
    code, _, err = run(["tags", f"{registry.host}/some/repo"])
    assert code == 1
    assert err.startswith("error: refusing") and "--insecure-registry" in err
    assert err.count("\n") == 1
    code, _, err = run(["tags", "UPPER/Case"])
    assert code == 1 and "lowercase" in err
    code, _, err = run(["inspect", f"{registry.host}/{unique_repo()}:x", "--insecure-registry",
                        registry.host])  # fmt: skip
    assert code == 1 and "not found" in err
    code, _, _ = run(["tags"])
    assert code == 2


def test_inspect_index(registry: RegistryHandle) -> None:
    repo = unique_repo()
    seeded = registry.seed_index(
        repo, "3.0.0", annotations={"org.opencontainers.image.source": "https://git.example/app"}
    )
    image = f"{registry.host}/{repo}:3.0.0"
    code, out, _ = run(["inspect", image, "--json", "--insecure-registry", registry.host])
    assert code == 0
    data = json.loads(out)
    assert data["digest"] == seeded.digest
    assert [p["platform"] for p in data["platforms"]] == ["linux/amd64", "linux/arm64/v8"]
    assert data["source"] == "https://git.example/app"
    code, out, _ = run(["inspect", image, "--insecure-registry", registry.host])
    assert f"digest:     {seeded.digest}" in out
    assert "platforms:  linux/amd64, linux/arm64/v8" in out
    assert "source:     https://git.example/app" in out


def test_docker_config_and_env_credentials(
    registry_htpasswd: RegistryHandle, tmp_path: Path
) -> None:
    reg = registry_htpasswd
    repo = unique_repo()
    reg.seed(repo, ["7"])
    auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    env = {"FLUXBOT_INSECURE_REGISTRIES": reg.host, "DOCKER_CONFIG": str(tmp_path)}
    code, out, err = run(["tags", f"{reg.host}/{repo}"], env=env)
    assert (code, out.strip()) == (0, "7"), err
    env = {
        "FLUXBOT_INSECURE_REGISTRIES": reg.host,
        "DOCKER_CONFIG": str(tmp_path / "none"),
        "FLUXBOT_REGISTRY_AUTH": json.dumps(
            {reg.host: {"username": reg.username, "password": reg.password}}
        ),
    }
    code, out, _ = run(["tags", f"{reg.host}/{repo}", "--tag-cache", str(tmp_path / "c.db")], env)
    assert (code, out.strip()) == (0, "7")
    assert (tmp_path / "c.db").exists()


async def test_progress_line_on_a_tty(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.app.cli import registry as cli_registry

    class SlowClient:
        async def tags(self, image: str, progress: object = None) -> list[str]:
            assert callable(progress)
            await asyncio.sleep(0.3)
            progress(1000)
            await asyncio.sleep(0.4)
            progress(2000)
            return ["a", "b"]

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(cli_registry, "PROGRESS_DELAY", 0.1)
    assert await cli_registry.list_tags(SlowClient(), "x/y", None) == ["a", "b"]
    assert "listing x/y" in capsys.readouterr().err


def test_cli_client_imports_no_unused_httpx_extras(registry: RegistryHandle) -> None:
    """A fresh process building the CLI's client skips httpx's CLI, trio and HTTP/2 (start-up),
    still lists tags, and leaves those modules importable afterwards."""
    repo = unique_repo()
    registry.seed(repo, ["1"])
    code = (
        "import asyncio, importlib.util, sys\n"
        "from bot.app.cli.registry import client_from_options\n"
        "async def main():\n"
        "    async with client_from_options([sys.argv[2]], None, [], None, {}) as client:\n"
        "        print(await client.tags(sys.argv[1]))\n"
        "asyncio.run(main())\n"
        "extras = ('httpx._main', 'trio', 'h2', 'rich', 'pygments')\n"
        "print(sorted(m for m in extras if m in sys.modules))\n"
        "print(sorted(m for m in extras if m in sys.modules or importlib.util.find_spec(m)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, f"{registry.host}/{repo}", registry.host],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    tags, imported, importable = proc.stdout.splitlines()
    assert (tags, imported) == ("['1']", "[]")
    assert "httpx._main" in importable  # unhidden again (trio/h2 only where installed)
