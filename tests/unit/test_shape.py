"""bot.core.policy.shape: the default keep-the-tag-shape policy (Renovate docker versioning)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.policy.shape import TagShape, parse, select

TAGS = [
    "1.25.3", "1.25.4", "1.26.0", "1.26", "1.27.0-alpine", "1.26.1-alpine", "1.28.0rc1",
    "1.28.0-rc.1", "v1.30.0", "1.27.0-bookworm", "latest", "stable", "abcdef1", "1.24.0",
]  # fmt: skip


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("1.25.3", "1.26.0"),  # same part count, no suffix, no prerelease, not the v tag
        ("1.25.3-alpine", "1.27.0-alpine"),  # same suffix
        ("1.26.1-alpine", "1.27.0-alpine"),
        ("1.25", "1.26"),  # two parts only
        ("1.27.0-bookworm", None),  # nothing newer of that shape
        ("1.26.0", None),  # newest already: no update
        ("v1.20.0", "v1.30.0"),  # v prefix kept
        ("latest", None),  # not a version
        ("1.28.0rc0", "1.28.0rc1"),  # a prerelease may move to a later prerelease
    ],
)
def test_select(current: str, expected: str | None) -> None:
    assert select(current, TAGS) == expected


def test_no_downgrade_and_numeric_order() -> None:
    assert select("1.9", ["1.10", "1.8", "1.9"]) == "1.10"
    assert select("1.10", ["1.9", "1.2"]) is None


def test_stable_release_beats_its_prereleases() -> None:
    assert select("2.0.0rc1", ["2.0.0rc2", "2.0.0", "2.0.0b9"]) == "2.0.0"
    assert select("2.0.0", ["2.0.1rc1", "2.0.0"]) is None


def test_date_tags_and_commit_hashes() -> None:
    assert select("20240101", ["20240315", "deadbeef", "2024031"]) == "20240315"
    assert parse("deadbeef") is None
    assert parse("12345678") == TagShape("", (12345678,), "", "")


def test_parse_shapes() -> None:
    assert parse("v1.2.3rc1-alpine3.19") == TagShape("v", (1, 2, 3), "rc1", "alpine3.19")
    assert parse("1.2-") == TagShape("", (1, 2), "", "")
    assert parse("1.2.3-debian-12-r4") == TagShape("", (1, 2, 3), "", "debian-12-r4")
    assert parse("version1") is None
    assert parse("") is None


tags = st.lists(
    st.builds(
        lambda v, parts, pre, suffix: f"{v}{'.'.join(map(str, parts))}{pre}{suffix}",
        st.sampled_from(["", "v"]),
        st.lists(st.integers(0, 30), min_size=1, max_size=4),
        st.sampled_from(["", "", "rc1", "b2"]),
        st.sampled_from(["", "", "-alpine", "-slim"]),
    ),
    max_size=30,
)


@given(tags, tags)
def test_selection_is_a_newer_tag_of_the_same_shape(
    current_pool: list[str], pool: list[str]
) -> None:
    for current in current_pool[:3]:
        chosen = select(current, pool)
        cur = parse(current)
        assert cur is not None
        if chosen is None:
            assert all(
                (s := parse(t)) is None
                or not s.same_shape(cur)
                or s.key() <= cur.key()
                or (s.prerelease and not cur.prerelease)
                for t in pool
            )
            continue
        new = parse(chosen)
        assert chosen in pool and new is not None
        assert new.same_shape(cur) and new.key() > cur.key()
        assert cur.prerelease or not new.prerelease
