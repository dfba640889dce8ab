"""Command-line entry point: ``fluxbot`` and ``python -m bot``."""

from __future__ import annotations

from bot.cli import action, diff, plan, policy, reconcile, registry, serve  # noqa: F401
from bot.cli.app import main


def run() -> None:
    """Console-script entry point."""
    main(prog_name="fluxbot")


__all__ = ["main", "run"]
