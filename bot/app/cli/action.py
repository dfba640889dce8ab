"""``fluxbot action``: the GitHub Action entry point (see :mod:`bot.app.action`)."""

from __future__ import annotations

from bot.app.cli.app import main


@main.command("action")
def action_command() -> None:
    """Run as a GitHub Action step (reads INPUT_*, GITHUB_* and the event file)."""
    from bot.app.action import main as run_action

    raise SystemExit(run_action())
