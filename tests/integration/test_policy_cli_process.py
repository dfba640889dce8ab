"""``python -m bot policy test`` and ``validate`` as a user runs them: a real process.

CliRunner tests cover the flags; these check what only a process shows: ``python -m bot`` works,
stdin is read, errors are one line on stderr without a traceback, and ``--debug`` gives one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fluxbot(
    *args: str, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, whatever is installed
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
    )


def test_selects_from_stdin_and_exits_0() -> None:
    done = fluxbot(
        "policy", "test", "--semver", ">=1.0.0 <2", "--tags-file", "-",
        stdin="0.9.0\n1.4.2\n\n  v1.10.0  \n2.0.0\n1.11.0-rc.1\nlatest\n",
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "v1.10.0\n", "")


def test_no_tag_qualifies_exits_1_with_one_line_and_no_traceback() -> None:
    done = fluxbot("policy", "test", "--semver", "^3", "--tags", "1.0.0", "2.0.0")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: semver range '^3': none of the 2 tags")


def test_debug_shows_the_traceback() -> None:
    done = fluxbot("--debug", "policy", "test", "--semver", ">>1", "--tags", "1.0.0")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "bot.core.errors.PolicyError: semver range '>>1' is invalid" in done.stderr


def test_usage_error_exits_2() -> None:
    done = fluxbot("policy", "test", "--semver", "*", "--alphabetical", "asc", "--tags", "1")
    assert done.returncode == 2 and "Usage:" in done.stderr and "Traceback" not in done.stderr
    assert fluxbot("policy", "test", "--frobnicate").returncode == 2


def test_explain_json_of_a_policy_file(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"
        "metadata: {name: app}\nspec:\n  imageRepositoryRef: {name: app}\n"
        "  filterTags: {pattern: '^(?P<v>[0-9.]+)-alpine$', extract: '$v'}\n"
        "  policy: {semver: {range: '~1.2'}}\n"
    )
    done = fluxbot(
        "policy", "test", "--policy", "policy.yaml", "--explain", "--json",
        "--tags", "1.2.3-alpine", "1.2.9", "1.3.0-alpine", "1.2.10-alpine", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"selected": "1.2.10-alpine"' in done.stdout
    assert '"reason": "filterTags.pattern does not match"' in done.stdout


def test_validate_names_file_path_and_problem(tmp_path: Path) -> None:
    good = tmp_path / ".fluxbot.yaml"
    good.write_text("rules:\n  - images: ['ghcr.io/org/*']\n    policy: patch-only\n")
    done = fluxbot("validate", cwd=tmp_path)  # default file name
    assert (done.returncode, done.stdout) == (0, ".fluxbot.yaml: valid\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "policies:\n  p: {policy: {semver: {range: '>=1 <'}}}\n"
        "rules:\n  - images: ['a/*']\n    policy: nope\n"
    )
    done = fluxbot("validate", str(bad))
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert f"{bad}: $.policies.p: semver range '>=1 <' is invalid" in lines[0]
    assert lines[1].startswith(f"{bad}: $.rules[0].policy: unknown policy or preset 'nope'")
