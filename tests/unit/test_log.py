"""Logs never carry a credential: values of credential-looking keys are blanked."""

from __future__ import annotations

import io
import sys

import pytest

from bot.app.log import configure, get_logger, redact


@pytest.mark.parametrize(
    "key", ["token", "github_token", "webhook_secret", "password", "Authorization", "private_key"]
)
def test_credential_keys_are_blanked(key: str) -> None:
    assert redact(None, "info", {key: "canary-123", "repo": "o/r"}) == {key: "***", "repo": "o/r"}


def test_ordinary_keys_pass() -> None:
    assert redact(None, "info", {"tokens_used": 3, "author": "alice"}) == {
        "tokens_used": 3,
        "author": "alice",
    }


def test_configured_logger_writes_redacted_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    configure(debug=True)
    get_logger("t").info("auth.ok", registry="ghcr.io", token="canary-456")
    get_logger("t").debug("visible.at.debug")
    out = err.getvalue()
    assert "auth.ok" in out and "ghcr.io" in out and "visible.at.debug" in out
    assert "canary-456" not in out
    monkeypatch.undo()
    configure(debug=False)  # back to the real stderr for the tests that follow
