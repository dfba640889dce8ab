"""The README's examples are real: its config snippet validates and its CLI names exist."""

from __future__ import annotations

import re
from pathlib import Path

from bot.app.cli.app import LAZY_COMMANDS
from bot.core.config import check_config, load_config

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def test_config_example_is_valid_and_means_what_it_says() -> None:
    block = re.search(r"```yaml\n(.*?)```", _section("## Configuration"), re.S)
    assert block is not None
    text = block.group(1)
    assert check_config(text, "README.md") == []
    config = load_config(text, "README.md")
    match = config.policy_for("ghcr.io/example/api:1.0.0")
    assert match is not None and match[0] == "api-v1"


def test_two_fresh_machine_commands() -> None:
    commands = re.findall(r"```sh\n(.*?)\n```", _section("## Two commands"), re.S)
    assert commands == ["bash scripts/demo", "bash .ci/run"]
    root = Path(__file__).resolve().parents[2]
    assert (root / "scripts" / "demo").is_file() and (root / ".ci" / "run").is_file()


def test_cli_commands_in_readme_exist() -> None:
    used = set(re.findall(r"^fluxbot ([a-z]+) ", _section("## Using it"), re.M))
    assert used and used <= set(LAZY_COMMANDS)
