"""``fluxbot redeliver --since DURATION``: ask GitHub to redeliver the App's failed webhook
deliveries (those answered 503 while Redis or the server was down, for instance).

    fluxbot redeliver --since 2h [--dry-run] [--json]

Needs the App's credentials (``FLUXBOT_GITHUB_APP_ID``, ``FLUXBOT_GITHUB_PRIVATE_KEY[_PATH]``);
lists ``GET /app/hook/deliveries`` newest first until the window ends, and POSTs
``/app/hook/deliveries/{id}/attempts`` once per delivery that never succeeded
(:func:`bot.core.redeliver.to_redeliver`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click

from bot.app.cli.app import echo_json, main
from bot.core.errors import ConfigError
from bot.core.redeliver import Delivery, parse_duration, to_redeliver


@main.command("redeliver")
@click.option("--since", required=True, metavar="DURATION", help="Window, e.g. 30m, 2h, 1d.")
@click.option("--dry-run", is_flag=True, help="List what would be redelivered.")
@click.option("--json", "as_json", is_flag=True, help="Print the deliveries as JSON.")
def redeliver_command(since: str, dry_run: bool, as_json: bool) -> None:
    """Redeliver the GitHub App's failed webhook deliveries of the last DURATION."""
    from bot.app.settings import Settings

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    settings = Settings.from_env()
    if not (settings.github_app_id and settings.github_private_key):
        raise ConfigError("redeliver needs FLUXBOT_GITHUB_APP_ID and FLUXBOT_GITHUB_PRIVATE_KEY")
    chosen = asyncio.run(_redeliver(settings, time.time() - window, dry_run))
    if as_json:
        echo_json([{"id": d.id, "guid": d.guid, "event": d.event} for d in chosen])
    else:
        verb = "would redeliver" if dry_run else "redelivered"
        click.echo(f"{verb} {len(chosen)} failed deliveries of the last {since}")


async def _redeliver(settings: Any, cutoff: float, dry_run: bool) -> list[Delivery]:
    import aiohttp

    from bot.adapters.github.api import GitHubClient
    from bot.adapters.github.auth import app_jwt

    jwt = app_jwt(settings.github_app_id, settings.github_private_key)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        gh = GitHubClient(session, base_url=settings.github_api_url)
        rows: list[dict[str, Any]] = []
        async for row in gh.getiter("/app/hook/deliveries?per_page=100", jwt=jwt):
            rows.append(row)
            if Delivery.from_api(row).delivered_at < cutoff:
                break  # newest first: the rest is older than the window
        chosen = to_redeliver(rows, cutoff)
        if not dry_run:
            for delivery in chosen:
                await gh.post(f"/app/hook/deliveries/{delivery.id}/attempts", data={}, jwt=jwt)
    return chosen
