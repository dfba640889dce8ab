"""``bot.core.policy.latest``/``explain``: Flux ImagePolicy behaviour from the Flux docs (own
cases)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.errors import PolicyError
from bot.core.policy import DEFAULT_EXCLUSION_LIST, exclude_tags, excluded_by, explain, latest


def semver(rng: str, **filt: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"policy": {"semver": {"range": rng}}}
    if filt:
        spec["filterTags"] = filt
    return spec


def alpha(order: str | None = None, **filt: str) -> dict[str, Any]:
    body = {} if order is None else {"order": order}
    spec: dict[str, Any] = {"policy": {"alphabetical": body}}
    if filt:
        spec["filterTags"] = filt
    return spec


def numerical(order: str | None = None, **filt: str) -> dict[str, Any]:
    body = {} if order is None else {"order": order}
    spec: dict[str, Any] = {"policy": {"numerical": body}}
    if filt:
        spec["filterTags"] = filt
    return spec


CASES = [
    # semver: greatest in range, original tag returned, junk and 2-part tags skipped
    (semver(">=1.0.0"), ["1.0.0", "1.10.0", "1.9.0", "latest", "1.11"], "1.10.0"),
    (semver("^1.x"), ["v1.2.3", "1.2.2", "2.0.0"], "v1.2.3"),
    (semver("5.0.x"), ["5.0.1", "5.0.10", "5.0.2-rc.1", "5.1.0"], "5.0.10"),
    (semver(">=1.0.0-0"), ["1.0.0", "1.1.0-rc.1", "1.0.1-alpha"], "1.1.0-rc.1"),
    (semver(">=1.0.0"), ["1.0.0", "1.1.0-rc.1"], "1.0.0"),
    (semver("*"), ["01.2.3", "1.2.2"], "01.2.3"),  # leading zeros are accepted
    (semver(">=1.0.0"), ["1.2.3+build.1", "1.2.3"], "1.2.3"),  # equal versions: byte order first
    (semver(">=1.0.0"), ["v1.0.0", "1.0.0"], "1.0.0"),
    (semver(">=0.0.0-0"), ["1.2-rc.1", "1.1.0"], "1.2-rc.1"),  # two dots anywhere: 1.2.0-rc.1
    (semver(">=1.0.0-0"), ["1.0.0-rc.10", "1.0.0-rc.9", "1.0.0-rc.a"], "1.0.0-rc.a"),
    # semver over extracted values: ranked by the extracted value, original returned
    (
        semver(">=1.0.0", pattern=r"^prod-(?P<v>.*)$", extract="$v"),
        ["prod-1.2.0", "prod-1.10.0", "dev-9.9.9", "prod-x"],
        "prod-1.10.0",
    ),
    (
        semver("^2", pattern=r"^(\d+\.\d+\.\d+)-alpine$", extract="$1"),
        ["2.1.0-alpine", "2.3.0-alpine", "2.4.0", "3.0.0-alpine"],
        "2.3.0-alpine",
    ),
    # alphabetical: asc picks the largest, desc the smallest, byte order (upper case first)
    (alpha(), ["a", "c", "b"], "c"),
    (alpha("asc"), ["RELEASE.2023-01-31", "RELEASE.2024-02-01"], "RELEASE.2024-02-01"),
    (alpha("desc"), ["b", "a", "c"], "a"),
    (alpha("ASC"), ["Zeta", "alpha"], "alpha"),
    (alpha("desc"), ["Zeta", "alpha"], "Zeta"),
    (alpha(pattern="^main-"), ["main-2", "main-10", "zz"], "main-2"),
    # numerical: float parsing as Go's ParseFloat, asc picks the largest
    (numerical(), ["1", "10", "9"], "10"),
    (numerical("desc"), ["1", "10", "9", "-3"], "-3"),
    (numerical("asc"), ["1.5", "1e3", "999"], "1e3"),
    (numerical("asc"), ["0x10p0", "15"], "0x10p0"),
    (
        numerical("asc", pattern=r"^main-[a-f0-9]+-(?P<ts>[0-9]+)", extract="$ts"),
        ["main-abc123-1700000000", "main-def456-1700000100", "dev-1-9999999999", "latest"],
        "main-def456-1700000100",
    ),
    (
        numerical("asc", pattern=r"^main-[a-f0-9]+-(?P<ts>[0-9]+)", extract="${ts}"),
        ["main-abc123-20", "main-def456-3"],
        "main-abc123-20",
    ),
    (numerical("asc", pattern=r"^build-(\d+)$", extract="$1"), ["build-7", "build-12"], "build-12"),
    (numerical("asc"), ["1", "1.0"], "1.0"),  # equal numbers: the later tag in byte order
    (numerical("asc"), ["999", "1_000"], "1_000"),  # ParseFloat reads Go literals: 1_000 is 1000
]


@pytest.mark.parametrize(("spec", "tags", "expected"), CASES)
def test_latest(spec: dict[str, Any], tags: list[str], expected: str) -> None:
    assert latest(spec, tags) == expected
    assert latest(spec, reversed(tags)) == expected  # any iterable, any order
    assert explain(spec, tags).selected == expected


@pytest.mark.parametrize(
    ("spec", "tags", "needle"),
    [
        (semver(">=2.0.0"), ["1.0.0", "latest"], ">=2.0.0"),
        (semver(">=1.0.0"), [], "no tags"),
        (semver("not a range"), ["1.0.0"], "not a range"),
        (semver(">=1.0.0", pattern="^prod-"), ["dev-1.0.0"], "matched none"),
        (semver(">=1.0.0", pattern="(?<=x)y"), ["1.0.0"], "not a valid RE2"),
        (semver(">=1.0.0", pattern=r"(a)\1"), ["1.0.0"], "not a valid RE2"),
        (semver(">=1.0.0", pattern="a++"), ["1.0.0"], "not a valid RE2"),
        (numerical(), ["1", "2", "latest"], "'latest' is not a number"),
        (numerical(), ["1__000"], "not a number"),  # Go: one "_" between two digits only
        (numerical(), ["1e400"], "not a number"),  # Go: out of range is an error
        (numerical(), [" 1"], "not a number"),
        (alpha("up"), ["a"], "order"),
        ({"policy": {}}, ["a"], "exactly one"),
        ({"policy": {"semver": {"range": "*"}, "alphabetical": {}}}, ["a"], "exactly one"),
        ({"policy": {"calver": {}}}, ["a"], "unknown"),
        ({}, ["a"], "spec.policy"),
        ({"policy": {"semver": {}}}, ["1.0.0"], "range is required"),
        ({"policy": {"semver": {"range": 1.2}}}, ["1.0.0"], "must be a string, got float 1.2"),
        ({"policy": {"semver": {"range": "*"}}, "filterTags": {"pattern": 7}}, ["1"], "string"),
        ({"policy": {"semver": {"range": "*"}}, "filterTags": ["x"]}, ["1"], "mapping"),
    ],
)
def test_failures_name_rule_and_input(spec: dict[str, Any], tags: list[str], needle: str) -> None:
    with pytest.raises(PolicyError) as info:
        latest(spec, tags)
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_extract_duplicates_keep_one_tag() -> None:
    spec = semver(">=1.0.0", pattern=r"^(?:a|b)-(?P<v>.+)$", extract="$v")
    # both extract 1.0.0; Flux keeps the later one in registry (byte) order
    assert latest(spec, ["b-1.0.0", "a-1.0.0"]) == "b-1.0.0"


def test_extract_go_template_rules() -> None:
    tags = ["v-7-x"]
    # $1x names a group "1x" (empty), ${1}x is group 1 then "x", $$ is a dollar
    assert latest(alpha(pattern=r"^v-(\d+)-", extract="$1x"), tags) == "v-7-x"
    ex = explain(alpha(pattern=r"^v-(\d+)-", extract="${1}x$$"), tags)
    assert ex.decisions[0].value == "7x$"


def test_exclusion_list_default_and_replacement() -> None:
    tags = ["1.0.0", "sha256-abc.sig", "1.0.0.att"]
    assert DEFAULT_EXCLUSION_LIST == (r"^.*\.sig$",)
    assert exclude_tags(tags) == ["1.0.0", "1.0.0.att"]
    assert exclude_tags(tags, [r"\.att$"]) == ["1.0.0", "sha256-abc.sig"]  # replaces the default
    assert exclude_tags(tags, []) == tags
    assert excluded_by("x.sig") == r"^.*\.sig$"
    assert excluded_by("x", ["^y"]) is None
    with pytest.raises(PolicyError, match=r"exclusionList\[1\]"):
        exclude_tags(tags, ["ok", "(?!x)"])


def test_explain_reports_every_tag() -> None:
    spec = semver("^1", pattern=r"^(?P<v>[^-]+(?:-rc\.\d+)?)(?:-alpine)?$", extract="$v")
    tags = ["1.2.0", "1.2.0-alpine", "1.3.0-rc.1", "2.0.0", "1.1", "feature-x"]
    ex = explain(spec, tags)
    assert ex.selected == "1.2.0-alpine"
    by_tag = {d.tag: d for d in ex.decisions}
    assert set(by_tag) == set(tags)
    assert by_tag["1.2.0-alpine"].reason == "selected" and by_tag["1.2.0-alpine"].kept
    assert "same as" in by_tag["1.2.0"].reason
    assert "prerelease" in by_tag["1.3.0-rc.1"].reason
    assert "outside range" in by_tag["2.0.0"].reason
    assert "two dots" in by_tag["1.1"].reason
    assert by_tag["feature-x"].reason == "filterTags.pattern does not match"


def test_explain_reports_failure_without_raising() -> None:
    ex = explain(numerical(), ["1", "x"])
    assert ex.selected is None and ex.error is not None and "'x'" in ex.error
    assert [d.kept for d in ex.decisions] == [True, False]


def test_unicode_digits_are_not_versions() -> None:
    assert latest(semver("*"), ["1.2.3", "\u0661.2.4", "1.2.\u00b2"]) == "1.2.3"
    with pytest.raises(PolicyError):
        latest(numerical(), ["\u0661"])  # Go's ParseFloat takes ASCII digits only


def test_explain_names_equal_versions() -> None:
    ex = explain(semver(">=1.0.0"), ["v1.0.0", "1.0.0", "0.9.0"])
    by_tag = {d.tag: d for d in ex.decisions}
    assert ex.selected == "1.0.0"
    assert "same version as '1.0.0'" in by_tag["v1.0.0"].reason
    assert "outside range" in by_tag["0.9.0"].reason


def test_alphabetical_is_utf8_byte_order() -> None:
    # Go compares strings bytewise; UTF-8 byte order is code point order, past ASCII too
    tags = ["z", "Z", "\u00e9", "\uffff", "\U0001f600"]
    assert latest(alpha("asc"), tags) == "\U0001f600"
    assert latest(alpha("desc"), tags) == "Z"


def test_extract_may_produce_an_empty_value() -> None:
    pattern = r"^(?P<n>\d*)-x$"
    tags = ["-x", "7-x", "y"]
    # "" is a value like any other: the smallest alphabetically, not a number, not a version
    assert latest(alpha("desc", pattern=pattern, extract="$n"), tags) == "-x"
    assert latest(alpha("asc", pattern=pattern, extract="$n"), tags) == "7-x"
    with pytest.raises(PolicyError, match="'' is not a number"):
        latest(numerical(pattern=pattern, extract="$n"), tags)
    assert latest(
        semver("*", pattern=r"^(\d+\.\d+\.\d+)?-?x$", extract="$1"), ["x", "1.0.0-x"]
    ) == ("1.0.0-x")


def test_extract_from_a_name_used_twice() -> None:
    # Go lets several groups share a name; $v is the one that matched
    spec = semver(
        ">=1.0.0", pattern=r"^(?P<v>\d+\.\d+\.\d+)$|^release-(?P<v>\d+\.\d+\.\d+)$", extract="$v"
    )
    assert latest(spec, ["1.0.0", "release-1.2.0", "release-x"]) == "release-1.2.0"
