"""``fluxbot redeliver --since`` against the fake GitHub (App JWT; the deliveries listing and the
redelivery attempts checked against GitHub's OpenAPI description)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app.cli.app import main
from bot.core.redeliver import parse_duration


def _row(ident: int, guid: str, status: int, age: float) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(time.time() - age, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": ident,
        "guid": guid,
        "delivered_at": stamp,
        "redelivery": False,
        "duration": 0.01,
        "status": "OK" if status < 300 else "Service Unavailable",
        "status_code": status,
        "event": "push",
        "action": None,
        "installation_id": 1,
        "repository_id": 1,
    }


def test_redeliver_failed_deliveries_once(github_fake: Any) -> None:
    fake = github_fake
    fake.hook_deliveries = [  # newest first; 150 rows so the listing takes two pages
        _row(300, "later-ok", 202, 10),
        _row(299, "later-ok", 503, 20),  # failed, then succeeded on a redelivery: skip
        _row(298, "failed-twice", 503, 30),
        _row(297, "failed-twice", 503, 40),  # one redelivery per guid: the newest attempt
        _row(296, "one-failure", 500, 50),
        *(_row(295 - n, f"ok-{n}", 200, 60 + n) for n in range(140)),
        _row(10, "too-old", 503, 3 * 3600),  # outside the window
    ]
    env = {
        "FLUXBOT_GITHUB_API_URL": fake.url,
        "FLUXBOT_GITHUB_APP_ID": fake.app_id,
        "FLUXBOT_GITHUB_PRIVATE_KEY": fake.private_key,
        "FLUXBOT_GITHUB_TOKEN": "",
        "GITHUB_TOKEN": "",
    }
    runner = CliRunner()
    dry = runner.invoke(main, ["redeliver", "--since", "2h", "--dry-run", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    assert fake.redelivered == []
    done = runner.invoke(main, ["redeliver", "--since", "2h"], env=env)
    assert done.exit_code == 0, done.output
    assert fake.redelivered == [298, 296]
    assert "redelivered 2 failed deliveries" in done.output
    bad = runner.invoke(main, ["redeliver", "--since", "soon"], env=env)
    assert bad.exit_code == 2


def test_parse_duration() -> None:
    assert parse_duration("90s") == 90 and parse_duration("1h30m") == 5400
    for bad in ("", "2", "h", "2x", "-1h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
