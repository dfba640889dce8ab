"""Command-line entry point: ``fluxbot`` and ``python -m bot``.

Subcommands live in ``bot/cli/<feature>.py`` and are imported lazily (``app.LAZY_COMMANDS``).
"""

from __future__ import annotations

from bot.app.cli.app import main


def run() -> None:
    """Console-script entry point."""
    main(prog_name="fluxbot")


__all__ = ["main", "run"]
