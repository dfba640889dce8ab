"""``semver.matches`` parses versions as Flux parses tags, with the parser the policy uses.

Regression test of issue 11: ``matches(">=0.0.0", "1.2")`` was True although Flux never takes a
tag with fewer than two dots as a version (DESIGN.md §3).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.policy import latest
from bot.core.policy.semver import matches
from bot.errors import PolicyError


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=0.0.0", "1.2", False),
        ("*", "1", False),
        (">=1.2", "v1.2", False),
        ("1.x", "1.2-rc.1", False),
        (">=0.0.0", "1.2.0", True),
        (">=1.2", "v1.2.0", True),
        ("^1", "1.2.3-rc.1.2", False),  # a prerelease, but three dots: a version
        (">=1.2.3-0", "1.2.3-rc.1.2", True),
    ],
)
def test_matches_takes_only_what_flux_takes_as_a_tag(
    constraint: str, version: str, expected: bool
) -> None:
    assert matches(constraint, version) is expected


_PART = st.sampled_from(["0", "1", "2", "10", "01", "x", "rc", "1a"])
_TAGS = st.builds(
    lambda v, parts, pre: v + ".".join(parts) + pre,
    st.sampled_from(["", "v"]),
    st.lists(_PART, min_size=1, max_size=4),
    st.sampled_from(["", "-rc.1", "-0", "+b.7", "-rc.1+b"]),
)
_RANGES = st.sampled_from([">=0.0.0", "*", "^1", "~1.2", "1.x", ">=1.2.3-0", "<2 || >=10"])


@given(_RANGES, _TAGS)
def test_matches_agrees_with_the_policy(constraint: str, tag: str) -> None:
    spec = {"policy": {"semver": {"range": constraint}}}
    try:
        chosen: str | None = latest(spec, [tag])
    except PolicyError:
        chosen = None
    assert matches(constraint, tag) is (chosen == tag)
