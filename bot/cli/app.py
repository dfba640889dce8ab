"""The ``fluxbot`` click group and the error/exit-code policy shared by every subcommand.

Subcommand modules (``bot/cli/<feature>.py``) import :data:`main` and register on it; they are
imported by ``bot/cli/__init__.py``. Exit codes: 0 success, 1 error (one line on stderr), 2 usage.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from bot.errors import BotError


class BotGroup(click.Group):
    """A click group that turns :class:`BotError` into exit 1 with a one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BotError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=BotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="fluxbot")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """fluxbot: keeps the container images in a Flux GitOps repository up to date."""
    from bot.log import configure

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure(debug=debug)


def echo_json(data: Any) -> None:
    """Print data as stable, indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
