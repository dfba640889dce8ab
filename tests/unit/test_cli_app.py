"""The CLI root: every subcommand is reachable, loaded lazily, with the shared exit-code policy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.app.cli import main
from bot.app.cli.app import LAZY_COMMANDS


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in LAZY_COMMANDS:
        assert name in result.output


def test_every_lazy_command_is_registered_by_its_module() -> None:
    ctx = main.make_context("fluxbot", ["--help"], resilient_parsing=True)
    for name in LAZY_COMMANDS:
        cmd = main.get_command(ctx, name)
        assert cmd is not None and cmd.name == name
        assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0


def test_usage_error_exits_2() -> None:
    assert CliRunner().invoke(main, ["no-such-command"]).exit_code == 2


def test_help_does_not_import_the_features() -> None:
    code = (
        "import sys; from bot.app.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'aiohttp', 'bot.jobs'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_plan_does_not_import_backends_it_never_uses(tmp_path: Path) -> None:
    # trio (httpcore imports it when installed), rich (structlog.dev, for tracebacks we turn off)
    # and jsonschema (only to validate a config file, and this repository has none)
    (tmp_path / "app.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    code = (
        "import sys; from bot.app.cli import run\n"
        f"sys.argv = ['fluxbot', 'plan', {str(tmp_path)!r}]\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "loaded = {m.split('.')[0] for m, module in sys.modules.items() if module is not None}\n"
        "print(sorted(loaded & {'trio', 'rich', 'jsonschema'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
