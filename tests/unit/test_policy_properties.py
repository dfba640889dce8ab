"""Property tests: selection invariants and the fast semver path against the plain reference."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import PolicyError
from bot.core.policy import latest
from bot.core.policy.semver import compile_range, parse_tag

_num = st.integers(min_value=0, max_value=12).map(str)
_pre = st.lists(
    st.one_of(st.integers(0, 11).map(str), st.sampled_from(["rc", "alpha", "beta", "RC", "a-b"])),
    min_size=1,
    max_size=3,
).map(".".join)
_semverish = st.builds(
    lambda v, a, b, c, pre, build: f"{v}{a}.{b}.{c}{pre}{build}",
    st.sampled_from(["", "v"]),
    _num,
    _num,
    _num,
    st.one_of(st.just(""), _pre.map(lambda p: "-" + p)),
    st.sampled_from(["", "", "+b1"]),
)
_junk = st.one_of(
    st.sampled_from(["latest", "main", "1.2", "v1", "1.2.3.4", "01.2.3", "1.2.3-01", "1.2-rc.1"]),
    st.text(alphabet="0123456789.-vx+abc", max_size=9),
)
tags_strategy = st.lists(st.one_of(_semverish, _junk), min_size=1, max_size=25)

RANGES = [
    ">=1.0.0",
    "^1.2",
    "~2.3",
    ">1.2 <=4",
    "1.x || >=9.0.0-0",
    "!=3.x",
    "*",
    ">=0.0.0-0",
    "2.1 - 5",
    "^0.3.1",
    "<=7.2, >1",
    "<2",
    "^*",
    "<=*",
    "~0.0.1",
    "=0.0.0 || ~0.0.0",
    "<3.0.0-0 || 11.x",
]
SPECS: list[dict[str, Any]] = [{"policy": {"semver": {"range": r}}} for r in RANGES] + [
    {"policy": {"alphabetical": {"order": "asc"}}},
    {"policy": {"alphabetical": {"order": "desc"}}},
    {
        "policy": {"semver": {"range": ">=1.0.0"}},
        "filterTags": {"pattern": r"^v?(?P<v>[0-9.]+)", "extract": "$v"},
    },
    {"policy": {"numerical": {"order": "asc"}}, "filterTags": {"pattern": r"^[0-9]+(\.[0-9]+)?$"}},
    {
        "policy": {"numerical": {"order": "desc"}},
        "filterTags": {"pattern": r"^v?([0-9.]+)", "extract": "$1"},
    },
]


def _select(spec: dict[str, Any], tags: list[str]) -> str | None:
    try:
        return latest(spec, tags)
    except PolicyError:
        return None


def _reference_semver(rng: str, tags: list[str]) -> str | None:
    """The obvious implementation: parse each tag, keep in-range ones, max by key then tag."""
    constraint = compile_range(rng)
    cands = []
    for tag in tags:
        v = parse_tag(tag)
        if v is not None and constraint.check(v.key):
            cands.append((v.key, tag))
    if not cands:
        return None
    top = max(k for k, _ in cands)
    return min(t for k, t in cands if k == top)


@settings(max_examples=100, deadline=None)
@given(tags=tags_strategy, spec=st.sampled_from(SPECS), seed=st.randoms(use_true_random=False))
def test_result_does_not_depend_on_tag_order(
    tags: list[str], spec: dict[str, Any], seed: Any
) -> None:
    shuffled = list(tags)
    seed.shuffle(shuffled)
    assert _select(spec, tags) == _select(spec, shuffled)


@settings(max_examples=100, deadline=None)
@given(tags=tags_strategy, rng=st.sampled_from(RANGES), extra=st.one_of(_semverish, _junk))
def test_adding_a_tag_outside_the_range_changes_nothing(
    tags: list[str], rng: str, extra: str
) -> None:
    version = parse_tag(extra)
    if version is not None and compile_range(rng).check(version.key):
        return  # in range: it may legitimately win
    spec = {"policy": {"semver": {"range": rng}}}
    assert _select(spec, [*tags, extra]) == _select(spec, tags)


@settings(max_examples=250, deadline=None)
@given(tags=tags_strategy, rng=st.sampled_from(RANGES))
def test_fast_path_agrees_with_reference(tags: list[str], rng: str) -> None:
    assert _select({"policy": {"semver": {"range": rng}}}, tags) == _reference_semver(rng, tags)


@settings(max_examples=100, deadline=None)
@given(tags=tags_strategy)
def test_selection_is_one_of_the_tags(tags: list[str]) -> None:
    for spec in SPECS:
        chosen = _select(spec, tags)
        assert chosen is None or chosen in tags


@settings(max_examples=200, deadline=None)
@given(tag=_semverish, rng=st.sampled_from(RANGES))
def test_major_bound_is_sound(tag: str, rng: str) -> None:
    constraint = compile_range(rng)
    version = parse_tag(tag)
    if version is not None and constraint.check(version.key) and constraint.max_major is not None:
        assert version.major <= constraint.max_major
