"""``fluxbot serve``: the GitHub App / GitLab webhook server (see :mod:`bot.app.server`).

    fluxbot serve [--host 127.0.0.1] [--port 8080]

Configuration comes from the environment (``FLUXBOT_GITHUB_APP_ID``,
``FLUXBOT_GITHUB_PRIVATE_KEY_PATH`` or ``FLUXBOT_GITHUB_PRIVATE_KEY``,
``FLUXBOT_GITHUB_WEBHOOK_SECRET``, ``FLUXBOT_GITHUB_API_URL``, ``FLUXBOT_GITLAB_*``,
``FLUXBOT_SCHEDULE_INTERVAL``, ...). With a token instead of an App (``FLUXBOT_GITHUB_TOKEN``),
``FLUXBOT_GITHUB_REPOSITORIES`` lists the repositories the scheduler re-plans. SIGTERM drains
running jobs before exiting.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections import deque
from typing import TextIO, cast

import click

from bot.app.cli.app import main
from bot.core.errors import ConfigError


@main.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="FLUXBOT_HOST",
    help="Address to listen on (env FLUXBOT_HOST; the container sets 0.0.0.0).",
)
@click.option(
    "--port", default=8080, show_default=True, envvar="FLUXBOT_PORT", type=click.IntRange(0, 65535)
)
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--drain-timeout", default=30.0, show_default=True, help="Seconds to let jobs finish on exit."
)
@click.option("--no-schedule", is_flag=True, help="Do not re-plan installed repositories.")
@click.option(
    "--repositories",
    envvar="FLUXBOT_GITHUB_REPOSITORIES",
    default="",
    metavar="OWNER/NAME,...",
    help="Token mode (no GitHub App): the repositories the scheduler re-plans "
    "(env FLUXBOT_GITHUB_REPOSITORIES, comma-separated).",
)
def serve_command(
    host: str,
    port: int,
    concurrency: int,
    drain_timeout: float,
    no_schedule: bool,
    repositories: str,
) -> None:
    """Serve webhooks (POST /webhooks/github, /webhooks/gitlab), /healthz, /readyz, /metrics."""
    from aiohttp import web

    from bot.app.log import get_logger
    from bot.app.server import build_app
    from bot.app.settings import Settings

    settings = Settings.from_env()
    if not (settings.github_webhook_secret or settings.gitlab_webhook_secret):
        raise ConfigError(
            "no webhook secret: set FLUXBOT_GITHUB_WEBHOOK_SECRET or FLUXBOT_GITLAB_WEBHOOK_SECRET"
        )
    repos = parse_repositories(repositories)
    app = build_app(
        settings,
        concurrency=concurrency,
        drain_timeout=drain_timeout,
        schedule=not no_schedule,
        repositories=repos,
    )
    log_in_background()  # from here on, no log line blocks the event loop
    get_logger(__name__).info("server.listen", host=host, port=port)
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        print=None,
        shutdown_timeout=drain_timeout + 5,
        handle_signals=True,
    )


def parse_repositories(value: str) -> tuple[str, ...]:
    """``"o/a, o/b"`` → ``("o/a", "o/b")``; anything but ``owner/name`` is a ConfigError."""
    repos = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    for repo in repos:
        owner, _, name = repo.partition("/")
        if not owner or not name or "/" in name or " " in repo:
            raise ConfigError(f"FLUXBOT_GITHUB_REPOSITORIES: {repo!r} is not 'owner/name'")
    return repos


class BackgroundWriter:
    """A write-only text stream whose writes happen on a thread of their own, so a slow reader
    of stderr (a container's log driver, a full pipe) never blocks the event loop. A write is
    one ``deque.append`` (no lock, no wake-up); the thread drains the deque every ``interval``
    seconds. Bounded: past ``capacity`` pending writes new ones are dropped and counted
    (``dropped``). structlog's PrintLogger writes synchronously and stdlib's QueueHandler serves
    only stdlib logging, hence this small class."""

    def __init__(self, stream: TextIO, capacity: int = 20_000, interval: float = 0.05) -> None:
        self._stream = stream
        self._pending: deque[str] = deque()
        self._capacity = capacity
        self._interval = interval
        self._stop = threading.Event()
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="fluxbot-log", daemon=True)
        self._thread.start()

    def write(self, text: str) -> int:
        if len(self._pending) >= self._capacity:
            self.dropped += 1
        else:
            self._pending.append(text)
        return len(text)

    def flush(self) -> None:
        """Nothing to do here: the writer thread flushes after every batch."""

    def _drain(self) -> None:
        chunks: list[str] = []
        while self._pending:
            chunks.append(self._pending.popleft())
        if chunks:
            try:
                self._stream.write("".join(chunks))
                self._stream.flush()
            except (OSError, ValueError):
                pass

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._drain()
        self._drain()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (up to ``timeout`` seconds) and stop the thread."""
        self._stop.set()
        self._thread.join(timeout)


def log_in_background() -> BackgroundWriter:
    """Keep structlog's configuration, but write its lines from :class:`BackgroundWriter`."""
    import structlog

    writer = BackgroundWriter(sys.stderr)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, writer)))
    atexit.register(writer.close)
    return writer
