"""Go semantics used by filterTags and the numerical policy: RE2, Regexp.Expand, ParseFloat."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import PolicyError
from bot.core.policy.gosyntax import compile_pattern, expand, parse_float


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1.0),
        ("-2.5", -2.5),
        ("+3", 3.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-2", 0.01),
        ("0x1p4", 16.0),
        ("0x_1_0p0", 16.0),
        ("0X1.8P1", 3.0),
        ("inf", math.inf),
        ("-Infinity", -math.inf),
        ("+INF", math.inf),
        ("1e-400", 0.0),  # underflow is not an error in Go
        ("1_000", 1000.0),  # Go float literal syntax: "_" between digits
        ("1e1_0", 1e10),
        ("0_1", 1.0),
        ("-1_0.2_5e-0_1", -1.025),
    ],
)
def test_parse_float_accepts_go_syntax(text: str, expected: float) -> None:
    assert parse_float(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "1__0",
        "_1",
        "1_",
        "1_.5",
        "1._5",
        "1e_1",
        "0x1._2p0",  # "_" after the dot, not between digits
        "0x1_p0",
        "0x10",
        "1e",
        "e1",
        ".",
        "+nan",
        "-nan",
        "infin",
        "1e400",
        "0x1p",
        "١",
        "1,0",
    ],
)
def test_parse_float_rejects_what_go_rejects(text: str) -> None:
    assert parse_float(text) is None


def test_parse_float_nan() -> None:
    value = parse_float("NaN")
    assert value is not None and math.isnan(value)


@pytest.mark.parametrize(
    ("pattern", "template", "text", "expected"),
    [
        (r"(?P<a>\d+)-(?P<b>\d+)", "$b.$a", "12-34", "34.12"),
        (r"(?P<a>\d+)-(?P<b>\d+)", "${b}x${a}", "12-34", "34x12"),
        (r"(\d+)-(\d+)", "$2$1", "12-34", "3412"),
        (r"(\d+)-(\d+)", "$1x", "12-34", ""),  # "1x" is the name: no such group
        (r"(\d+)-(\d+)", "$$1", "12-34", "$1"),
        (r"(\d+)", "$9", "12", ""),  # out of range group
        (r"(\d+)", "$01", "12", ""),  # leading zero: a name, not a number
        (r"(\d+)", "a$", "12", "a$"),  # malformed: dollar kept
        (r"(\d+)", "${1", "12", "${1"),
        (r"(\d+)", "$-", "12", "$-"),
        (r"(\d+)(x)?", "[$2]", "12", "[]"),  # group that did not participate
        (r"(\d+)", "$0", "a12b", "12"),
        # one name on several groups (Go allows it): the first group that took part
        (r"^(?P<v>\d+)$|^v(?P<v>\d+)$", "$v", "v7", "7"),
        (r"^(?P<v>\d+)$|^v(?P<v>\d+)$", "$v", "8", "8"),
        (r"(?P<v>a)?(?P<v>b)", "[$v]", "ab", "[a]"),
        # groups counted as RE2 does: escaped and bracketed parens, \Q..\E, POSIX classes
        (r"\((?P<a>x)[(](y)\Q(\E[[:alpha:]](z)", "$a$1$2$3", "(x(y(qz", "xxyz"),
    ],
)
def test_expand_matches_go(pattern: str, template: str, text: str, expected: str) -> None:
    matcher = compile_pattern(pattern)
    m = matcher.search(text)
    assert m is not None
    assert expand(template, m, matcher) == expected


@pytest.mark.parametrize(
    "pattern",
    ["(?=a)", "(?!a)", "(?<=a)", r"(a)\1", "a++", "a{2,}+", "(?>a)", r"\Z", "(?#c)", r"a\Cb"],
)
def test_rejects_what_re2_rejects(pattern: str) -> None:
    with pytest.raises(PolicyError, match="RE2"):
        compile_pattern(pattern)


def test_pattern_must_be_a_string() -> None:
    with pytest.raises(PolicyError):
        compile_pattern(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("[[:digit:]]+", "ab12", "12"),  # POSIX class: RE2 only
        (r"\pN+", "ab12", "12"),
        (r"a{,2}", "a{,2}", "a{,2}"),  # literal in Go
        (r"\d", "\u0661", None),  # ASCII digits only, as Go
        (r"\bx", "éx", "x"),  # word boundaries are ASCII in Go
        ("(?i)k", "\u212a", "\u212a"),  # RE2 folds the Kelvin sign, non-ASCII text goes to RE2
        ("a$", "a\n", None),  # Go's $ is end of text
        (r"\Qa\Cb\E", "xa\\Cb", "a\\Cb"),  # quoted: a literal backslash and C, not \C
    ],
)
def test_engine_choice_keeps_go_semantics(pattern: str, text: str, found: str | None) -> None:
    m = compile_pattern(pattern).search(text)
    assert (m.group(0) if m else None) == found


_alphabet = "ab01.-_$"


@settings(max_examples=150, deadline=None)
@given(
    pattern=st.sampled_from(
        [
            r"^v?(\d+)\.(\d+)",
            r"(?P<x>[a-b]+)-(\d*)",
            r"\w+\.",
            r"[^.]+$",
            r"(a|ab)(b*)",
            "b?$",
            # loops over something that can match empty: re and RE2 keep different groups
            r"((b)?)+",
            r"(a|b*)*-",
            r"(?:(a?)*)+$",
            r"\B",
        ]
    ),
    text=st.text(alphabet=_alphabet, max_size=12),
)
def test_fast_engine_agrees_with_re2(pattern: str, text: str) -> None:
    matcher = compile_pattern(pattern)
    fast = matcher.search(text)
    slow = matcher._re2.search(text)
    assert (fast is None) == (slow is None)
    if fast is not None and slow is not None:
        assert fast.span() == slow.span()
        assert [fast.group(i) for i in range(matcher.groups + 1)] == [
            slow.group(i) for i in range(matcher.groups + 1)
        ]


_ATOMS = [
    "a",
    "b",
    "ab",
    ".",
    "[ab]",
    "[^a]",
    r"\d",
    r"\w",
    "-",
    r"\.",
    "a?",
    "b*?",
    r"\b",
    "^",
    "$",
]


@st.composite
def _patterns(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 3 else 0))
    if kind == 0:
        return draw(st.sampled_from(_ATOMS))
    if kind == 1:
        return draw(_patterns(depth + 1)) + draw(_patterns(depth + 1))
    if kind == 2:
        return draw(_patterns(depth + 1)) + "|" + draw(_patterns(depth + 1))
    quantifier = draw(st.sampled_from(["*", "+", "?", "*?", "+?", "{1,2}", ""]))
    opener = draw(st.sampled_from(["(", "(?:", "(?P<g>"])) if kind != 5 else "("
    return opener + draw(_patterns(depth + 1)) + ")" + quantifier


@settings(max_examples=500, deadline=None)
@given(pattern=_patterns(), texts=st.lists(st.text(alphabet="ab1-.", max_size=6), max_size=8))
def test_engine_choice_never_changes_a_match(pattern: str, texts: list[str]) -> None:
    try:
        matcher = compile_pattern(pattern)
    except PolicyError:
        return  # e.g. a repeated group name
    for text in texts:
        fast, slow = matcher.search(text), matcher._re2.search(text)
        assert (fast is None) == (slow is None), (pattern, text)
        if fast is not None and slow is not None:
            assert [fast.span(i) for i in range(matcher.groups + 1)] == [
                slow.span(i) for i in range(matcher.groups + 1)
            ], (pattern, text)
