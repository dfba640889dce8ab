"""``fluxbot app``: register the GitHub App with GitHub's manifest flow.

    fluxbot app manifest --url https://fluxbot.example.com [--name NAME]
    fluxbot app create --url https://fluxbot.example.com [--org ORG] [--output fluxbot-secret.yaml]

``create`` serves one page on 127.0.0.1 whose form POSTs the manifest to GitHub; GitHub redirects
back to ``/callback?code=...&state=...``; the code is exchanged for the App's id, private key and
webhook secret, which are written (mode 0600, never printed) to a Kubernetes Secret manifest, or a
``.env`` file when ``--output`` ends in ``.env``. It prints the App's install URL.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import sys
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.app.cli.app import echo_json, main
from bot.core.appmanifest import (
    AppCredentials,
    dotenv,
    form_page,
    manifest,
    new_app_url,
    result_page,
    secret_manifest,
)
from bot.core.errors import BotError, ConfigError

if TYPE_CHECKING:
    from aiohttp import web


@main.group("app")
def app_group() -> None:
    """Register fluxbot's GitHub App (manifest flow)."""


@app_group.command("manifest")
@click.option("--url", required=True, help="Public base URL of fluxbot serve (https://HOST).")
@click.option("--name", default="fluxbot", show_default=True, help="The App's name on GitHub.")
@click.option("--public", is_flag=True, help="Let other accounts install the App.")
def manifest_command(url: str, name: str, public: bool) -> None:
    """Print the GitHub App manifest (JSON) with the permissions and events fluxbot needs."""
    echo_json(manifest(url, name=name, public=public))


@dataclass(frozen=True)
class Output:
    """Where the credentials go, and in which form."""

    path: Path
    dotenv: bool
    secret_name: str
    namespace: str
    force: bool

    def render(self, creds: AppCredentials, api_url: str) -> str:
        env = creds.env(api_url)
        if self.dotenv:
            return dotenv(env)
        return secret_manifest(env, self.secret_name, self.namespace)

    def check(self) -> None:
        """Fail before GitHub creates anything if the file cannot be written."""
        if self.path.exists() and not self.force:
            raise ConfigError(f"{self.path} exists; pass --force to replace it")
        if not self.path.parent.is_dir():
            raise ConfigError(f"{self.path.parent} is not a directory")
        if not self.dotenv:
            secret_manifest({}, self.secret_name, self.namespace)  # validates the names

    def write(self, text: str) -> None:
        """Write with mode 0600 from the first byte (O_EXCL unless --force)."""
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if self.force else os.O_EXCL)
        try:
            fd = os.open(self.path, flags, 0o600)
        except FileExistsError:
            raise ConfigError(f"{self.path} exists; pass --force to replace it") from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(text)


@app_group.command("create")
@click.option("--url", required=True, help="Public base URL of fluxbot serve (https://HOST).")
@click.option(
    "--org", default=None, help="Create the App in this organisation (else your account)."
)
@click.option("--name", default="fluxbot", show_default=True, help="The App's name on GitHub.")
@click.option("--public", is_flag=True, help="Let other accounts install the App.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("fluxbot-secret.yaml"),
    show_default=True,
    help="Credentials file (0600): a Kubernetes Secret, or a .env file if it ends in .env.",
)
@click.option("--secret-name", default="fluxbot", show_default=True)
@click.option("--namespace", default="fluxbot", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Local port (0: any).")
@click.option("--no-browser", is_flag=True, help="Print the local URL; do not open a browser.")
@click.option("--timeout", default=900.0, show_default=True, help="Seconds to wait for GitHub.")
@click.option(
    "--github-url", envvar="FLUXBOT_GITHUB_URL", default="https://github.com", show_default=True
)
@click.option(
    "--api-url",
    envvar="FLUXBOT_GITHUB_API_URL",
    default="https://api.github.com",
    show_default=True,
)
def create_command(
    url: str,
    org: str | None,
    name: str,
    public: bool,
    output: Path,
    secret_name: str,
    namespace: str,
    force: bool,
    port: int,
    no_browser: bool,
    timeout: float,
    github_url: str,
    api_url: str,
) -> None:
    """Create the GitHub App from a local page, write its credentials, print the install URL."""
    manifest(url, name=name)  # bad --url or --name fails now, not in the browser
    new_app_url(github_url, org, "x")
    out = Output(output, output.name.endswith(".env"), secret_name, namespace, force)
    out.check()
    flow = Flow(url, name, public, org, github_url.rstrip("/"), api_url.rstrip("/"))
    creds = asyncio.run(flow.run(port, timeout, None if no_browser else webbrowser.open))
    out.write(out.render(creds, flow.api_url))
    click.echo(f"Created the GitHub App {creds.name!r} (id {creds.app_id}).")
    click.echo(f"Credentials written to {out.path} (mode 0600).")
    if not out.dotenv:
        click.echo(f"  kubectl apply -f {out.path}   # then install the chart (docs/deploy.md)")
    click.echo(f"Install it on your repositories: {creds.install_url(flow.github_url)}")


class Flow:
    """One run of the manifest flow: the local page, the callback, the code exchange."""

    def __init__(
        self, url: str, name: str, public: bool, org: str | None, github_url: str, api_url: str
    ) -> None:
        self.url, self.name, self.public, self.org = url, name, public, org
        self.github_url, self.api_url = github_url, api_url
        self.state = secrets.token_urlsafe(24)
        self._done: asyncio.Future[AppCredentials] | None = None
        self.local = ""

    async def run(
        self, port: int, timeout: float, open_browser: Callable[[str], object] | None
    ) -> AppCredentials:
        import httpx
        from aiohttp import web

        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        async with httpx.AsyncClient(timeout=30.0) as client:
            app = web.Application()
            app["client"] = client
            app.router.add_get("/", self._page)
            app.router.add_get("/callback", self._callback)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", port)
                try:
                    await site.start()
                except OSError as exc:
                    raise ConfigError(
                        f"cannot listen on 127.0.0.1:{port}: {exc.strerror}"
                    ) from None
                self.local = f"http://127.0.0.1:{runner.addresses[0][1]}"
                click.echo(f"Open {self.local}/ to create the App on GitHub (Ctrl-C to stop).")
                sys.stdout.flush()
                if open_browser is not None:
                    open_browser(self.local + "/")
                try:
                    return await asyncio.wait_for(asyncio.shield(self._done), timeout)
                except TimeoutError:
                    raise ConfigError(f"no answer from GitHub within {timeout:.0f}s") from None
            finally:
                await asyncio.sleep(0.2)  # let the result page reach the browser
                await runner.cleanup()

    async def _page(self, request: web.Request) -> web.Response:
        from aiohttp import web

        doc = manifest(
            self.url, self.name, redirect_url=f"{self.local}/callback", public=self.public
        )
        action = new_app_url(self.github_url, self.org, self.state)
        return web.Response(text=form_page(action, doc), content_type="text/html")

    async def _callback(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from bot.adapters.github.appmanifest import convert, verify

        assert self._done is not None
        code, state = request.query.get("code", ""), request.query.get("state", "")
        if not hmac.compare_digest(state.encode(), self.state.encode()) or not code:
            page = result_page("Not created", "This link is not from this run: start again.")
            return web.Response(text=page, content_type="text/html", status=400)
        if self._done.done():
            page = result_page("Already done", "The App was created; see the terminal.")
            return web.Response(text=page, content_type="text/html", status=409)
        client = request.app["client"]
        try:
            creds = await convert(client, self.api_url, code)
            await verify(client, self.api_url, creds)
        except BotError as exc:
            self._done.set_exception(exc)
            page = result_page("Not created", str(exc))
            return web.Response(text=page, content_type="text/html", status=502)
        self._done.set_result(creds)
        message = f"GitHub App {creds.name} (id {creds.app_id}) is ready. Back to the terminal."
        page = result_page("App created", message, creds.install_url(self.github_url))
        return web.Response(text=page, content_type="text/html")
