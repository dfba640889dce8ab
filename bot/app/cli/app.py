"""The ``fluxbot`` click group and the error/exit-code policy shared by every subcommand.

Subcommand modules (``bot/cli/<feature>.py``) import :data:`main` and register on it; they are
imported by ``bot/cli/__init__.py``. Exit codes: 0 success, 1 error (one line on stderr), 2 usage.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from bot.core.errors import BotError

# Subcommand → the module that registers it. Imported on first use: importing every feature up
# front (httpx, aiohttp, the renderer...) would cost each ``fluxbot`` call most of a second.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "action": ("bot.app.cli.action", "Run as the GitHub Action step (the container entrypoint)."),
    "app": ("bot.app.cli.github_app", "Register the GitHub App: print its manifest, or create it."),
    "diff": ("bot.app.cli.diff", "Render the Flux objects a change affects and diff them."),
    "inspect": ("bot.app.cli.registry", "Show an image's digest, media type, platforms, source."),
    "plan": ("bot.app.cli.plan", "Find image references and the updates policies select."),
    "policy": ("bot.app.cli.policy", "Test image policies against tags."),
    "reconcile": ("bot.app.cli.reconcile", "Ask Flux to reconcile now and watch the rollout."),
    "run": ("bot.app.cli.plan", "Plan and write update branches and PRs on a forge."),
    "serve": ("bot.app.cli.serve", "Run the GitHub App / GitLab webhook server."),
    "redeliver": ("bot.app.cli.redeliver", "Redeliver the GitHub App's failed webhook deliveries."),
    "tags": ("bot.app.cli.registry", "List an image's tags (after exclusions)."),
    "validate": ("bot.app.cli.policy", "Check a .fluxbot.yaml against the schema."),
}


# Interactive commands print results, not progress logs: retries and the like only with -v.
QUIET_COMMANDS = frozenset(("inspect", "plan", "policy", "run", "tags"))


def _verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    from bot.app.log import configure

    if value and not ctx.find_root().params.get("debug"):
        configure(quiet=False)


def verbose_option(func: Any) -> Any:
    """``-v``/``--verbose``: show the logs a quiet command hides (registry retries, ...)."""
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_verbose,
        help="Also log retries and other progress (stderr).",
    )(func)


class BotGroup(click.Group):
    """A click group that turns :class:`BotError` into exit 1 with a one-line message."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(LAZY_COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            importlib.import_module(LAZY_COMMANDS[cmd_name][0])
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List subcommands from the static table, so ``--help`` imports none of them."""
        rows = [(name, LAZY_COMMANDS[name][1]) for name in sorted(LAZY_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
    from bot.app.log import configure

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure(debug=debug, quiet=ctx.invoked_subcommand in QUIET_COMMANDS)


def echo_json(data: Any) -> None:
    """Print data as stable, indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
