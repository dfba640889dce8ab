"""``fluxbot tags`` and ``fluxbot inspect``; registers on :data:`bot.app.cli.app.main`.

This entry point is where the environment is read (``Settings.from_env``):
``FLUXBOT_INSECURE_REGISTRIES`` (comma separated ``HOST[:PORT]``), ``DOCKER_CONFIG`` (directory of
``config.json``), ``FLUXBOT_REGISTRY_AUTH`` (JSON ``{"host": {"username": ..., "password": ...}}``),
``FLUXBOT_REGISTRY_SECRETS`` (dockerconfigjson Secret files), ``FLUXBOT_REGISTRY_RATES`` (requests
per second per registry, ``docker.io=5,ghcr.io=20``) and ``FLUXBOT_CACHE`` (tag cache); the client
itself is built by :func:`bot.adapters.registry.factory.client_from_settings`.
Other commands (``policy test --image``) can reuse :func:`registry_options` and
:func:`client_from_options`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.app.cli.app import echo_json, main, verbose_option
from bot.app.settings import Settings, parse_mirrors, parse_registry_rates
from bot.core.mirrors import mirror_reference

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "client_from_options",
    "list_tags",
    "mirrored",
    "registry_options",
    "registry_rates",
]


def registry_options(func: F) -> F:
    """The registry flags shared by every command that talks to registries."""
    options = [
        click.option(
            "--insecure-registry",
            "insecure",
            multiple=True,
            metavar="HOST[:PORT]",
            help="Allow plain HTTP and private/loopback addresses for this registry; "
            "https://HOST[:PORT] allows private addresses but keeps verified HTTPS (repeatable; "
            "also FLUXBOT_INSECURE_REGISTRIES, comma separated).",
        ),
        click.option(
            "--docker-config",
            type=click.Path(dir_okay=False, path_type=Path),
            help="docker config.json with auths/credHelpers "
            "(default: $DOCKER_CONFIG/config.json or ~/.docker/config.json).",
        ),
        click.option(
            "--registry-secret",
            "secrets",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Kubernetes dockerconfigjson Secret file (repeatable; also "
            "FLUXBOT_REGISTRY_SECRETS, comma separated).",
        ),
        click.option(
            "--mirror",
            "mirrors",
            multiple=True,
            metavar="HOST=MIRROR",
            help="Read HOST's images from MIRROR instead, the path kept (repeatable; also "
            "FLUXBOT_REGISTRY_MIRRORS, comma separated), as plan and run do.",
        ),
        click.option(
            "--tag-cache",
            type=click.Path(dir_okay=False, path_type=Path),
            help="SQLite file caching tag lists between runs.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return verbose_option(func)  # type: ignore[no-any-return]


def registry_rates(environ: Mapping[str, str]) -> dict[str, float]:
    """Per-registry request rates from ``FLUXBOT_REGISTRY_RATES`` (``HOST[:PORT]=PER_SECOND``)."""
    return dict(parse_registry_rates(environ.get("FLUXBOT_REGISTRY_RATES")))


# Optional extras httpx/httpcore import when installed, which the registry client never uses:
# httpx's own CLI (rich, pygments), trio support and HTTP/2. Together ~0.1-0.3 s of start-up.
_UNUSED_EXTRAS = ("httpx._main", "trio", "h2")


def _import_client_lean() -> None:
    """Import httpx and httpcore in this process without their unused optional extras.

    Only when neither is imported yet (a CLI process; never a test run or a server that already
    uses them): the extras are hidden for the duration of the import, so httpx falls back to a
    stub CLI and httpcore records trio/HTTP/2 as unavailable, then unhidden again.
    """
    if "httpx" in sys.modules or "httpcore" in sys.modules:
        return
    hidden = [name for name in _UNUSED_EXTRAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import httpcore  # noqa: F401
        import httpx  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def client_from_options(
    insecure: Sequence[str],
    docker_config: Path | None,
    secrets: Sequence[Path],
    tag_cache: Path | None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """A :class:`bot.adapters.registry.RegistryClient` from the flags and
    ``Settings.from_env(environ)``,
    built by :func:`bot.adapters.registry.factory.client_from_settings` like every other entry
    point's."""
    _import_client_lean()
    from bot.adapters.registry.factory import client_from_settings

    settings = Settings.from_env(os.environ if environ is None else environ)
    return client_from_settings(
        settings,
        extra_insecure=insecure,
        docker_config=docker_config,
        secrets=secrets,
        tag_cache=tag_cache,
    )


def mirrored(
    reference: str, mirrors: Sequence[str], environ: Mapping[str, str] | None = None
) -> str:
    """``reference`` as the registry is asked for it: ``FLUXBOT_REGISTRY_MIRRORS`` and the
    ``--mirror`` flags applied (the flags win), exactly as ``plan`` applies them."""
    settings = Settings.from_env(os.environ if environ is None else environ)
    table = dict(settings.registry_mirrors)
    table.update(parse_mirrors(tuple(mirrors)))
    return mirror_reference(reference, table)


PROGRESS_DELAY = 0.5  # seconds of listing before the progress line appears


async def list_tags(client: Any, image: str, exclusion: Sequence[str] | None) -> list[str]:
    """Tags of ``image`` minus ``exclusion`` (the policy layer's rule, as a plan applies it); on a
    TTY a transient progress line (stderr) once listing is slow."""
    from bot.core.policy import exclude_tags

    exclude_tags((), exclusion)  # an invalid pattern fails before any request
    if not sys.stderr.isatty():
        return exclude_tags(await client.tags(image), exclusion)
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} tags"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(f"listing {image}", total=None)
    import asyncio

    timer = asyncio.get_running_loop().call_later(PROGRESS_DELAY, bar.start)
    try:
        tags = await client.tags(image, progress=lambda count: bar.update(task, completed=count))
    finally:
        timer.cancel()
        bar.stop()
    return exclude_tags(tags, exclusion)


@main.command("tags")
@click.argument("image")
@click.option(
    "--exclude",
    "exclusion",
    multiple=True,
    metavar="REGEX",
    help="exclusionList regex (repeatable; replaces Flux's default ^.*\\.sig$).",
)
@click.option("--all", "no_exclusion", is_flag=True, help="Apply no exclusion at all.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@registry_options
def tags_command(
    image: str,
    exclusion: tuple[str, ...],
    no_exclusion: bool,
    as_json: bool,
    insecure: tuple[str, ...],
    docker_config: Path | None,
    secrets: tuple[Path, ...],
    mirrors: tuple[str, ...],
    tag_cache: Path | None,
) -> None:
    """List every tag of IMAGE's repository (after exclusions), following pagination."""
    from bot.core.reference import parse

    parse(image)
    patterns: list[str] | None = [] if no_exclusion else (list(exclusion) or None)
    source = mirrored(image, mirrors)

    async def run() -> list[str]:
        async with client_from_options(insecure, docker_config, secrets, tag_cache) as client:
            return await list_tags(client, source, patterns)

    import asyncio  # here, not at the top: ``fluxbot tags --help`` needs no event loop

    tags = asyncio.run(run())
    if as_json:
        echo_json(tags)
    else:
        click.echo("\n".join(tags)) if tags else None


@main.command("inspect")
@click.argument("image")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@registry_options
def inspect_command(
    image: str,
    as_json: bool,
    insecure: tuple[str, ...],
    docker_config: Path | None,
    secrets: tuple[Path, ...],
    mirrors: tuple[str, ...],
    tag_cache: Path | None,
) -> None:
    """Show IMAGE[:TAG|@DIGEST]: digest, media type, platforms and source annotations."""
    from bot.core.reference import parse

    parse(image)
    source = mirrored(image, mirrors)

    async def run() -> Any:
        async with client_from_options(insecure, docker_config, secrets, tag_cache) as client:
            return await client.inspect(source)

    import asyncio

    info = asyncio.run(run())
    if as_json:
        data = info.as_dict()
        data.update(source=info.source, revision=info.revision, version=info.version)
        if source != image:
            data["mirror"] = source
        echo_json(data)
        return
    click.echo(f"reference:  {info.reference}")
    if source != image:
        click.echo(f"mirror:     {source}")
    click.echo(f"digest:     {info.digest}")
    click.echo(f"media type: {info.media_type}")
    if info.platforms:
        click.echo("platforms:  " + ", ".join(str(p) for p in info.platforms))
    for label, value in (
        ("source", info.source),
        ("revision", info.revision),
        ("version", info.version),
    ):
        if value:
            click.echo(f"{label + ':':<11} {value}")
