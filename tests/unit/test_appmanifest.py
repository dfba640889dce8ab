"""The GitHub App manifest and the credential files (bot.core.appmanifest), and the CLI command."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner

from bot.app.cli.app import main
from bot.core.appmanifest import AppCredentials, dotenv, manifest, new_app_url, secret_manifest
from bot.core.errors import ConfigError, ForgeError


def test_manifest_has_the_permissions_and_events_fluxbot_needs() -> None:
    doc = manifest("https://bot.example.com/", name="my bot")
    assert doc["hook_attributes"] == {
        "url": "https://bot.example.com/webhooks/github",
        "active": True,
    }
    perms = doc["default_permissions"]
    for key in ("contents", "pull_requests", "issues", "statuses"):
        assert perms[key] == "write"
    assert perms["metadata"] == perms["checks"] == "read"
    assert doc["default_events"] == [
        "push",
        "pull_request",
        "issue_comment",
        "package",
        "registry_package",
    ]


@pytest.mark.parametrize("url", ["http://bot.example.com", "ftp://x", "https://", "https://x/?a=1"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        manifest(url)


def test_org_and_name_are_checked() -> None:
    assert new_app_url("https://github.com", "acme", "s t").endswith(
        "/organizations/acme/settings/apps/new?state=s%20t"
    )
    with pytest.raises(ConfigError):
        new_app_url("https://github.com", "../evil", "s")
    with pytest.raises(ConfigError):
        manifest("https://x.example", name="<script>")


def test_cli_prints_the_manifest_json() -> None:
    out = CliRunner().invoke(main, ["app", "manifest", "--url", "https://b.example", "--name", "b"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["name"] == "b"


def creds(**changes: object) -> AppCredentials:
    payload = {
        "id": 7,
        "slug": "fb",
        "pem": "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n",
        "webhook_secret": 'w"s',
    }
    payload.update(changes)
    return AppCredentials.from_conversion(payload)


def test_conversion_is_parsed_and_secrets_are_masked() -> None:
    c = creds()
    assert c.app_id == 7 and "BEGIN" not in repr(c) and "w" not in repr(c).split("webhook")[0][-3:]
    env = c.env("https://api.github.com")
    assert env["FLUXBOT_BOT_LOGIN"] == "fb[bot]" and "FLUXBOT_GITHUB_API_URL" not in env
    with pytest.raises(ForgeError):
        AppCredentials.from_conversion({"id": 7, "slug": "fb", "pem": "nope"})
    with pytest.raises(ForgeError):
        AppCredentials.from_conversion([])


def test_secret_manifest_and_dotenv_round_trip() -> None:
    env = creds().env("https://ghe.example/api/v3")
    text = secret_manifest(env, "fluxbot", "fluxbot")
    data = dict(line.strip().split(": ", 1) for line in text.split("\ndata:\n")[1].splitlines())
    assert {k: base64.b64decode(v).decode() for k, v in data.items()} == env
    lines = dict(line.split("=", 1) for line in dotenv(env).splitlines())
    assert lines["FLUXBOT_GITHUB_WEBHOOK_SECRET"] == '"w\\"s"'
    assert "\n" not in lines["FLUXBOT_GITHUB_PRIVATE_KEY"]
    with pytest.raises(ConfigError):
        secret_manifest(env, "Bad_Name", "fluxbot")


def test_a_one_line_private_key_from_a_dotenv_file_is_read_as_pem() -> None:
    from bot.app.settings import Settings

    pem = creds().private_key
    one_line = pem.replace("\n", "\\n")
    assert Settings.from_env({"FLUXBOT_GITHUB_PRIVATE_KEY": one_line}).github_private_key == pem
    assert Settings.from_env({"FLUXBOT_GITHUB_PRIVATE_KEY": pem}).github_private_key == pem
