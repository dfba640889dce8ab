"""Masterminds v3 range semantics, from the Masterminds README and Flux docs (our own cases)."""

from __future__ import annotations

import pytest

from bot.core.errors import PolicyError
from bot.core.policy.semver import compile_range, matches, parse_tag, parse_version

# (range, version, expected)
CASES = [
    # basic operators, "=" aliased to no operator, comma and space AND, || OR
    ("1.4.0", "1.4.0", True),
    ("=1.4.0", "1.4.1", False),
    ("!=1.4.0", "1.4.1", True),
    ("!=1.4.0", "1.4.0", False),
    (">1.4.0", "1.4.1", True),
    (">1.4.0", "1.4.0", False),
    ("<1.4.0", "1.3.99", True),
    (">=1.4.0", "1.4.0", True),
    ("<=1.4.0", "1.4.0", True),
    ("<=1.4.0", "1.4.1", False),
    ("=>1.4.0", "1.4.0", True),
    ("=<1.4.0", "1.4.0", True),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "2.9.0", True),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "3.5.0", False),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "4.2.3", True),
    (">=1.2 <3", "3.0.0", False),
    (">=1.2 <3", "2.0.0", True),
    # build metadata is ignored in comparisons; v prefix allowed on both sides
    ("=1.2.3", "1.2.3+build.5", True),
    ("=v1.2.3", "1.2.3", True),
    (">=1.2.3", "v1.3.0", True),
    # partial versions: > and <= on a partial mean "past / within that part"
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    (">1", "1.9.9", False),
    (">1", "2.0.0", True),
    ("<=1.2", "1.2.99", True),
    ("<=1.2", "1.3.0", False),
    ("<=1", "1.99.0", True),
    ("<=1", "2.0.0", False),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    (">=1.2", "1.2.0", True),
    # wildcards x, X, *
    ("1.2.x", "1.2.0", True),
    ("1.2.x", "1.2.99", True),
    ("1.2.X", "1.3.0", False),
    ("1.2.*", "1.1.9", False),
    (">= 1.2.x", "1.2.0", True),
    (">= 1.2.x", "1.1.9", False),
    ("<= 2.x", "2.99.0", True),
    ("<= 2.x", "3.0.0", False),
    ("*", "0.0.0", True),
    ("*", "123.4.5", True),
    ("x", "9.9.9", True),
    ("1.x", "1.9.0", True),
    ("1.x", "2.0.0", False),
    ("!=1.x", "1.5.0", False),
    ("!=1.x", "2.0.0", True),
    ("!=1.2.x", "1.2.7", False),
    ("!=1.2.x", "1.3.0", True),
    # hyphen ranges (spaces around the hyphen are required)
    ("1.2 - 1.4.5", "1.2.0", True),
    ("1.2 - 1.4.5", "1.4.5", True),
    ("1.2 - 1.4.5", "1.4.6", False),
    ("2.3.4 - 4.5", "4.5.0", True),
    ("2.3.4 - 4.5", "4.5.9", True),  # the upper bound is "<= 4.5", i.e. below 4.6.0
    ("2.3.4 - 4.5", "4.6.0", False),
    ("2.3.4 - 4.5", "2.3.3", False),
    ("1.0.0 - 2.0.0 || 5.0.0", "5.0.0", True),
    # tilde
    ("~1.2.3", "1.2.3", True),
    ("~1.2.3", "1.2.99", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2.3", "1.2.2", False),
    ("~1", "1.99.0", True),
    ("~1", "2.0.0", False),
    ("~2.3", "2.3.9", True),
    ("~2.3", "2.4.0", False),
    ("~1.2.x", "1.2.5", True),
    ("~1.x", "1.7.0", True),
    ("~>1.2.3", "1.2.9", True),
    ("~0.0.0", "7.0.0", True),
    # caret, including the 0.x and 0.0.x rules
    ("^1.2.3", "1.2.3", True),
    ("^1.2.3", "1.99.0", True),
    ("^1.2.3", "2.0.0", False),
    ("^1.2.3", "1.2.2", False),
    ("^1.2.x", "1.2.0", True),
    ("^1.2.x", "1.9.0", True),
    ("^2.3", "2.99.0", True),
    ("^2.3", "3.0.0", False),
    ("^2.x", "2.0.0", True),
    ("^0.2.3", "0.2.3", True),
    ("^0.2.3", "0.2.99", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.2", "0.2.0", True),
    ("^0.2", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.99", True),
    ("^0.0", "0.1.0", False),
    ("^0", "0.99.0", True),
    ("^0", "1.0.0", False),
    # prereleases: skipped unless a comparator of the same AND group has one
    (">=1.2.3", "1.2.4-beta.1", False),
    (">=1.2.3-0", "1.2.4-beta.1", True),
    (">=1.2.3-0", "1.2.3-alpha", True),
    (">=1.2.3-BETA", "1.2.3-alpha", True),  # ASCII order: upper case sorts first
    (">=1.2.3-beta", "1.2.3-alpha", False),
    ("^1.2.3", "1.5.0-rc.1", False),
    ("^1.2.3-alpha", "1.5.0-rc.1", True),
    (">=1.0.0-0 <2.0.0", "1.9.0-rc.2", True),  # one prerelease comparator opens the group
    (">=1.0.0 <2.0.0-0", "1.9.0-rc.2", True),
    (">=1.0.0 || >=3.0.0-0", "1.9.0-rc.2", False),  # ... but only its own group
    (">=1.0.0 || >=1.0.0-0", "1.9.0-rc.2", True),
    ("*", "1.0.0-rc.1", False),
    ("1.2.3-rc.1", "1.2.3-rc.1", True),
    # prerelease precedence: numeric identifiers numerically, numbers before text
    (">1.0.0-rc.2", "1.0.0-rc.10", True),
    (">1.0.0-rc.a", "1.0.0-rc.10", False),
    (">1.0.0-alpha", "1.0.0-alpha.1", True),
    ("<1.0.0", "1.0.0-rc.1", False),
    ("<1.0.0-0", "0.9.0", True),
    # lenient versions (NewVersion): partial and leading zeros
    (">=1.2", "1.2.0", True),
    ("=1.2.3", "01.02.03", True),
    ("=01.2.3", "1.2.3", True),  # leading zeros in the constraint too
    # != and prereleases: the group still needs a prerelease comparator
    ("!=1.2.3", "1.2.4-rc.1", False),
    ("!=1.2.3-0", "1.2.4-rc.1", True),
    ("!=1.2.x-0", "1.2.4-rc.1", True),  # same minor, different prerelease: not excluded
    ("!=1.2.x-rc.1", "1.2.4-rc.1", False),
    ("!=1.2.3", "1.2.3+b", False),  # build metadata is not part of equality
    (">1.2.3+meta", "1.2.3+other", False),
    # "=" with a partial version is a tilde range, not equality
    ("=1.2", "1.2.9", True),
    ("=1.2", "1.3.0", False),
    # wildcards and partial versions inside hyphen ranges
    ("1.2.x - 2", "2.99.0", True),
    ("1.2.x - 2", "3.0.0", False),
    ("1.2.x - 2", "1.1.99", False),
    ("* - 2", "0.0.1", True),
    ("1.2.0-rc.1 - 1.3", "1.2.9-beta", True),  # the rewritten group keeps the prerelease
    # prereleases never slip into wildcard-ish ranges without a prerelease comparator
    (">= 1.2", "1.2.0-rc.1", False),
    ("~1", "2.0.0-rc.1", False),
    ("^0", "0.5.0-rc.1", False),
    ("<1.2.3-0 || >2.x", "1.2.3-alpha", False),  # 1.2.3-alpha is not below 1.2.3-0
    ("^0.0 || ~1.2.3", "0.1.0", False),
    ("~1.2.3 || ^0.0", "0.0.7", True),
]


@pytest.mark.parametrize(("constraint", "version", "expected"), CASES)
def test_matches(constraint: str, version: str, expected: bool) -> None:
    assert matches(constraint, version) is expected


@pytest.mark.parametrize(
    "constraint",
    [
        "",
        "   ",
        "||",
        ">=1.0 ||",
        "abc",
        ">=a.b.c",
        "1.2.3.4",
        "1.2 -1.4",  # hyphen range without the spaces: a prerelease-looking version, then junk
        ">= 1.2 - 2",  # hyphen range after an operator
        ">=1.0.0-01",  # numeric prerelease with a leading zero
        ">=99999999999999999999.0.0",  # beyond uint64
        "~>=1.0",
        "1 | 2",
        ">=1.0.0,,<2",
        ">>1.0",
    ],
)
def test_invalid_ranges_raise_policy_error(constraint: str) -> None:
    with pytest.raises(PolicyError) as info:
        matches(constraint, "1.0.0")
    assert repr(constraint) in str(info.value)


@pytest.mark.parametrize(
    "version",
    [
        "",
        "latest",
        "1.2.3.4",
        "V1.2.3",
        "1.2.3-01",
        "1.2.3-",
        "1.2.3+",
        " 1.2.3",
        "1.2.3\n",
        "a1.2.3",
    ],
)
def test_unparsable_versions_do_not_match(version: str) -> None:
    assert matches("*", version) is False
    assert matches(">=0.0.0-0", version) is False


def test_version_parsing_is_lenient_like_newversion() -> None:
    v = parse_version("v01.2")
    assert v is not None and (v.major, v.minor, v.patch, v.original) == (1, 2, 0, "v01.2")
    assert parse_version("1.2.3-rc.1+b.7") is not None
    assert parse_version("18446744073709551615.0.0") is not None  # max uint64
    assert parse_version("18446744073709551616.0.0") is None


def test_flux_tags_need_two_dots() -> None:
    assert parse_tag("1.2") is None
    assert parse_tag("v1") is None
    assert parse_tag("1.2.3") is not None
    # two dots anywhere is enough for Flux: the rest is NewVersion's business
    tag = parse_tag("1.2-rc.1")
    assert tag is not None and (tag.minor, tag.patch, tag.prerelease) == (2, 0, "rc.1")


def test_compiled_range_is_reusable_and_reports_why() -> None:
    rng = compile_range("^1.2")
    ok = parse_version("1.5.0")
    pre = parse_version("1.5.0-rc.1")
    out = parse_version("2.0.0")
    assert ok is not None and pre is not None and out is not None
    assert rng.check_version(ok)
    assert rng.why_not(ok) == ""
    assert "prerelease" in rng.why_not(pre)
    assert "outside range" in rng.why_not(out)


def test_range_text_is_not_a_string() -> None:
    with pytest.raises(PolicyError):
        compile_range(3)  # type: ignore[arg-type]
