"""``fluxbot policy test`` and ``fluxbot validate`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.app.cli import main

IMAGEPOLICY = """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: app}
spec: {image: ghcr.io/org/app}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: app}
spec:
  imageRepositoryRef: {name: app}
  filterTags:
    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'
    extract: '$ts'
  policy:
    numerical: {order: asc}
"""


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_semver_with_tags_taking_several_values() -> None:
    code, out, _ = run("policy", "test", "--semver", "^1.2", "--tags", "1.2.0", "1.3.1", "2.0.0")
    assert (code, out) == (0, "1.3.1\n")


def test_repeated_tags_flag_and_alphabetical() -> None:
    code, out, _ = run("policy", "test", "--alphabetical", "desc", "--tags", "b", "--tags", "a")
    assert (code, out) == (0, "a\n")


def test_tags_from_stdin_and_file(tmp_path: Path) -> None:
    code, out, _ = run(
        "policy", "test", "--numerical", "asc", "--tags-file", "-", stdin="3\n10\n\n2\n"
    )
    assert (code, out) == (0, "10\n")
    tags = tmp_path / "tags.txt"
    tags.write_text("v1.0.0\nv1.1.0\n")
    code, out, _ = run("policy", "test", "--semver", "1.x", "--tags-file", str(tags))
    assert (code, out) == (0, "v1.1.0\n")


def test_policy_file_and_json(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(IMAGEPOLICY)
    code, out, _ = run(
        "policy",
        "test",
        "--policy",
        str(policy),
        "--json",
        "--tags",
        "main-aaa-100",
        "main-bbb-99",
        "latest",
    )
    assert code == 0
    data = json.loads(out)
    assert data["selected"] == "main-aaa-100" and data["tags"] == 3


def test_explain_lists_every_tag() -> None:
    code, out, _ = run(
        "policy", "test", "--semver", ">=1.0.0", "--explain", "--tags", "1.0.0", "1.1.0-rc.1", "x"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == "selected: 1.0.0"
    assert any(line.startswith("* 1.0.0") for line in lines)
    assert any(line.startswith("- 1.1.0-rc.1") and "prerelease" in line for line in lines)
    code, out, _ = run(
        "policy",
        "test",
        "--pattern",
        "^v",
        "--alphabetical",
        "asc",
        "--explain",
        "--json",
        "--tags",
        "v1",
        "w2",
    )
    data = json.loads(out)
    assert code == 0 and data["selected"] == "v1"
    assert {d["tag"]: d["kept"] for d in data["decisions"]} == {"v1": True, "w2": False}


def test_no_match_exits_1_with_one_line() -> None:
    code, out, err = run("policy", "test", "--semver", ">=5", "--tags", "1.0.0")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: semver range '>=5'")


def test_explain_failure_still_explains_then_exits_1() -> None:
    code, out, err = run("policy", "test", "--numerical", "asc", "--explain", "--tags", "1", "x")
    assert code == 1 and "- x" in out and "'x' is not a number" in err


def test_invalid_policy_exits_1() -> None:
    code, _, err = run("policy", "test", "--semver", ">>1", "--tags", "1.0.0")
    assert code == 1 and "'>>1'" in err
    code, _, err = run("policy", "test", "--semver", "*", "--pattern", "(?=x)", "--tags", "1.0.0")
    assert code == 1 and "RE2" in err


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("policy", "test", "--tags", "1.0.0")[0] == 2
    assert run("policy", "test", "--semver", "*", "--numerical", "asc", "--tags", "1")[0] == 2
    assert run("policy", "test", "--semver", "*")[0] == 2
    assert run("policy", "test", "--semver", "*", "--extract", "$1", "--tags", "1")[0] == 2
    assert run("policy", "test", "--alphabetical", "up", "--tags", "1")[0] == 2
    policy = tmp_path / "p.yaml"
    policy.write_text(IMAGEPOLICY)
    assert run("policy", "test", "--policy", str(policy), "--pattern", "x", "--tags", "1")[0] == 2


def test_policy_file_problems_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert run("policy", "test", "--policy", str(missing), "--tags", "1")[0] == 1
    other = tmp_path / "other.yaml"
    other.write_text("kind: ConfigMap\n")
    code, _, err = run("policy", "test", "--policy", str(other), "--tags", "1")
    assert code == 1 and "no ImagePolicy" in err


def test_validate(tmp_path: Path) -> None:
    good = tmp_path / ".fluxbot.yaml"
    good.write_text("rules: [{images: ['ghcr.io/*'], policy: stable}]\n")
    code, out, _ = run("validate", str(good))
    assert code == 0 and "valid" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("group: x\nrules: [{images: ['a'], policy: nope}]\n")
    code, _, err = run("validate", str(bad))
    assert code == 1
    assert f"{bad}: $.group:" in err and f"{bad}: $.rules[0].policy: unknown" in err
    code, out, _ = run("validate", str(bad), "--json")
    assert code == 1 and json.loads(out)["valid"] is False
    assert run("validate", str(tmp_path / "none.yaml"))[0] == 1


def test_presets_listing_and_preset_flag() -> None:
    code, out, _ = run("policy", "presets")
    assert code == 0 and {line.split()[0] for line in out.splitlines()} == {
        "stable",
        "patch-only",
        "minor-only",
        "calver",
        "digest",
    }
    code, out, _ = run("policy", "presets", "--json")
    assert json.loads(out)["patch-only"]["relative"] is True
    code, out, _ = run(
        "policy",
        "test",
        "--preset",
        "patch-only",
        "--current",
        "v1.4.2",
        "--tags",
        "v1.4.3",
        "v1.5.0",
        "v1.4.10",
    )
    assert (code, out) == (0, "v1.4.10\n")
    code, _, err = run("policy", "test", "--preset", "patch-only", "--tags", "1.0.0")
    assert code == 1 and "current tag" in err
    assert run("policy", "test", "--preset", "stable", "--semver", "*", "--tags", "1")[0] == 2
