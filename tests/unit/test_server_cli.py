"""``fluxbot serve`` and ``fluxbot action`` on the command line (no server started)."""

from __future__ import annotations

from click.testing import CliRunner

from bot.app.cli import main


def test_serve_refuses_to_start_without_a_webhook_secret() -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--port", "0"],
        env={"FLUXBOT_GITHUB_WEBHOOK_SECRET": "", "FLUXBOT_GITLAB_WEBHOOK_SECRET": ""},
    )
    assert result.exit_code == 1
    assert "no webhook secret" in result.output


def test_serve_help_and_usage_errors() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["serve", "--help"])
    assert out.exit_code == 0 and "--host" in out.output and "127.0.0.1" in out.output
    assert runner.invoke(main, ["serve", "--port", "99999"]).exit_code == 2


def test_action_without_a_repository_fails_with_an_annotation() -> None:
    result = CliRunner().invoke(main, ["action"], env={"GITHUB_REPOSITORY": "", "INPUT_TOKEN": "x"})
    assert result.exit_code == 1
    assert "::error::fluxbot: GITHUB_REPOSITORY is not set" in result.output


def test_repositories_for_token_mode_are_owner_name_pairs() -> None:
    from bot.app.cli.serve import parse_repositories

    assert parse_repositories(" o/a, o/b ,,o/a") == ("o/a", "o/b")
    assert parse_repositories("") == ()
    result = CliRunner().invoke(
        main,
        ["serve", "--port", "0"],
        env={"FLUXBOT_GITHUB_WEBHOOK_SECRET": "s", "FLUXBOT_GITHUB_REPOSITORIES": "o/a, nope"},
    )
    assert result.exit_code == 1
    assert "'nope' is not 'owner/name'" in result.output


def test_log_lines_are_written_off_the_calling_thread() -> None:
    """A stderr that blocks (a full pipe, a slow log driver) does not block the server's loop."""
    import io
    import threading
    import time

    from bot.app.cli.serve import BackgroundWriter

    gate = threading.Event()

    class SlowStream(io.StringIO):
        def write(self, text: str) -> int:
            gate.wait(10)
            return super().write(text)

    stream = SlowStream()
    writer = BackgroundWriter(stream, capacity=3)
    start = time.monotonic()
    for i in range(6):
        writer.write(f"line {i}\n")
    assert time.monotonic() - start < 0.5  # nothing waited for the stream
    assert writer.dropped >= 2  # bounded: past capacity, lines are dropped and counted
    gate.set()
    writer.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "line 0" and len(lines) == 6 - writer.dropped
    assert lines == sorted(lines)  # in order
