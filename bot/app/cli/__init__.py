"""Command-line entry point: ``fluxbot`` and ``python -m bot``.

Subcommands live in ``bot/cli/<feature>.py`` and are imported lazily (``app.LAZY_COMMANDS``).
"""

from __future__ import annotations

import sys

from bot.app.cli.app import main

# Optional back ends that libraries import just because they are installed, which a fluxbot
# process never uses (bench/startup.py measures them): httpcore imports trio when present
# (~120 ms) though fluxbot runs on asyncio, httpx imports its own command line (rich, pygments)
# when they are present, and structlog.dev imports rich (~140 ms) for rich tracebacks, which
# bot.app.log turns off. rich stays importable for the CLI's progress bars.
NEVER_USED = ("trio", "httpx._main")
HIDDEN_WHILE_LOGGING_LOADS = ("rich",)


def _skip_unused_backends() -> None:
    """Import structlog without rich, and make ``import trio`` fail, for this process."""
    for name in NEVER_USED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # import then fails
    hidden = [name for name in HIDDEN_WHILE_LOGGING_LOADS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import structlog  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def run() -> None:
    """Console-script entry point."""
    _skip_unused_backends()
    main(prog_name="fluxbot")


__all__ = ["main", "run"]
