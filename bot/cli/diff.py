"""``fluxbot`` subcommands for diff; registers on :data:`bot.cli.app.main`."""

from __future__ import annotations

from bot.cli.app import main  # noqa: F401
