"""``fluxbot app create`` end to end: the real CLI process serves its page on 127.0.0.1, a real
headless Chromium submits the form to the fake GitHub's new-App page, GitHub's redirect comes back
to the CLI, which exchanges the code (OpenAPI-validated), signs in as the new App, writes the
credentials (0600) and prints the install URL."""

from __future__ import annotations

import base64
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML

from tests.support.browser import start_browser
from tests.support.deploy import problems
from tests.support.paths import REPO

URL = "https://fluxbot.example.com"
BASE = (sys.executable, "-m", "bot", "app", "create", "--url", URL, "--no-browser")


class Cli:
    """``fluxbot app create`` running as a person starts it; ``local`` is the page it serves."""

    def __init__(self, fake: Any, tmp: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "FLUXBOT_GITHUB_URL": fake.url}
        self.proc = subprocess.Popen(
            [*BASE, "--api-url", fake.url, "--timeout", "60", *args],
            cwd=tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        match = re.search(r"Open (http://127\.0\.0\.1:\d+)/", first)
        assert match, first + self.proc.stderr.read() if self.proc.stderr else first
        self.local = match.group(1)

    def finish(self) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def cli(github_fake: Any, tmp_path: Path) -> Iterator[Any]:
    started: list[Cli] = []

    def start(*args: str) -> Cli:
        started.append(Cli(github_fake, tmp_path, *args))
        return started[-1]

    yield start
    for c in started:
        c.stop()


def secret_env(path: Path) -> dict[str, str]:
    doc = YAML(typ="safe").load(path.read_text())
    assert problems(doc) == []  # a valid v1 Secret for Kubernetes 1.31
    return {k: base64.b64decode(v).decode() for k, v in doc["data"].items()}


async def create_in_browser(local: str) -> tuple[str, str, str | None]:
    async with start_browser() as page:
        await page.goto(local + "/")
        await page.click("#submit")
        landed = await page.wait_for(lambda url: url.startswith(local + "/callback"))
        return landed, await page.text("#title"), await page.attribute("#install", "href")


async def test_create_in_a_real_browser_writes_a_secret(
    cli: Any, github_fake: Any, tmp_path: Path
) -> None:
    run = cli()
    landed, title, install = await create_in_browser(run.local)
    code, out, err = run.finish()
    assert code == 0, err
    assert title == "App created"
    assert "code=" in landed and "state=" in landed
    # the form posted the manifest fluxbot needs to the user's new-App page, with our state
    (post,) = github_fake.manifest_posts
    assert post["org"] is None and post["state"] and post["state"] in landed
    assert post["manifest"]["hook_attributes"]["url"] == URL + "/webhooks/github"
    assert post["manifest"]["redirect_url"] == run.local + "/callback"
    assert github_fake.manifest_problems == []
    # credentials: 0600, a Secret with the App's id, key and webhook secret, never on stdout
    path = tmp_path / "fluxbot-secret.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    env = secret_env(path)
    (app,) = github_fake.created_apps
    assert env["FLUXBOT_GITHUB_APP_ID"] == github_fake.app_id
    assert env["FLUXBOT_GITHUB_PRIVATE_KEY"] == github_fake.private_key
    assert env["FLUXBOT_GITHUB_WEBHOOK_SECRET"] == app["webhook_secret"]
    assert env["FLUXBOT_BOT_LOGIN"] == "fluxbot[bot]"
    assert env["FLUXBOT_GITHUB_API_URL"] == github_fake.url
    for secret in (app["webhook_secret"], app["client_secret"], "PRIVATE KEY"):
        assert secret not in out + err
    install_url = f"{github_fake.url}/apps/fluxbot/installations/new"
    assert install_url in out and install == install_url
    # the CLI signed in as the new App with those credentials
    assert ("GET", "/app", 200) in github_fake.requests
    assert (
        "POST",
        f"/app-manifests/{landed.split('code=')[1].split('&')[0]}/conversions",
        201,
    ) in (github_fake.requests)


async def test_create_for_an_organisation_into_a_dotenv_file(
    cli: Any, github_fake: Any, tmp_path: Path
) -> None:
    github_fake.manifest_webhook_secret = False  # GitHub returned none: fluxbot sets one
    run = cli("--org", "acme", "--name", "Acme Flux Bot", "--output", "fluxbot.env")
    _, title, _ = await create_in_browser(run.local)
    code, out, err = run.finish()
    assert code == 0, err
    assert title == "App created"
    (post,) = github_fake.manifest_posts
    assert post["org"] == "acme" and post["manifest"]["name"] == "Acme Flux Bot"
    path = tmp_path / "fluxbot.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = dict(line.split("=", 1) for line in path.read_text().splitlines())
    secret = lines["FLUXBOT_GITHUB_WEBHOOK_SECRET"].strip('"')
    assert len(secret) == 64 and github_fake.hook_config["secret"] == secret
    assert lines["FLUXBOT_BOT_LOGIN"] == '"acme-flux-bot[bot]"'
    assert lines["FLUXBOT_GITHUB_PRIVATE_KEY"].startswith('"-----BEGIN')
    assert "\\n" in lines["FLUXBOT_GITHUB_PRIVATE_KEY"]  # one line: newlines escaped
    assert f"{github_fake.url}/apps/acme-flux-bot/installations/new" in out


def test_a_callback_from_elsewhere_is_refused(cli: Any, github_fake: Any) -> None:
    run = cli()
    page = httpx.get(run.local + "/")
    assert page.status_code == 200 and 'name="manifest"' in page.text
    forged = httpx.get(run.local + "/callback", params={"code": "abc", "state": "guessed"})
    assert forged.status_code == 400
    assert not github_fake.created_apps and run.proc.poll() is None  # still waiting
    run.stop()


def test_an_expired_code_is_a_clear_error(cli: Any, github_fake: Any, tmp_path: Path) -> None:
    run = cli()
    page = httpx.get(run.local + "/").text
    state = re.search(r"state=([\w-]+)", page)
    assert state
    answer = httpx.get(run.local + "/callback", params={"code": "0ld", "state": state.group(1)})
    assert answer.status_code == 502
    code, _out, err = run.finish()
    assert code == 1
    assert err.strip().splitlines() == [
        "error: GitHub App conversion: HTTP 404 unknown or expired code "
        "(codes last an hour and work once)"
    ]
    assert not (tmp_path / "fluxbot-secret.yaml").exists()


def test_an_existing_file_is_not_overwritten(github_fake: Any, tmp_path: Path) -> None:
    (tmp_path / "fluxbot-secret.yaml").write_text("keep me\n")
    out = subprocess.run(
        [sys.executable, "-m", "bot", "app", "create", "--url", URL, "--no-browser"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1 and "exists; pass --force" in out.stderr
    assert (tmp_path / "fluxbot-secret.yaml").read_text() == "keep me\n"
