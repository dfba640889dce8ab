"""``fluxbot action``: the GitHub Action entry point (see :mod:`bot.action`)."""

from __future__ import annotations

from bot.cli.app import main


@main.command("action")
def action_command() -> None:
    """Run as a GitHub Action step (reads INPUT_*, GITHUB_* and the event file)."""
    from bot.action import main as run_action

    raise SystemExit(run_action())
