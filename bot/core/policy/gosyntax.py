"""Go semantics Flux relies on: RE2 patterns, ``Regexp.Expand`` and ``strconv.ParseFloat``.

* :func:`compile_pattern` validates a pattern with RE2 (``google-re2``), so whatever Go's regexp
  rejects (lookaround, backreferences, possessive quantifiers, ...) is a :class:`PolicyError`.
  Matching is an unanchored leftmost-first search, as Go's ``FindStringSubmatchIndex``. When the
  pattern and the input provably mean the same thing to Python's ``re`` (ASCII pattern without
  the few constructs the engines read differently, no quantifier over something that can match
  empty, ASCII tags without whitespace) the stdlib engine runs the search, because a google-re2
  call costs ~5 µs from Python and ``re`` ~0.2 µs.
* :func:`expand` is Go's ``Regexp.Expand``: ``$name``/``${name}``/``$1``, ``$$`` for ``$``; the
  name is the longest run of letters, digits and ``_`` (so ``$1x`` names group ``1x``, which is
  empty); unknown groups expand to nothing; a malformed ``$`` is kept literally.
* :func:`parse_float` is ``strconv.ParseFloat(s, 64)``: Go float literal syntax (decimal or
  hexadecimal with a ``p`` exponent, ``_`` only between digits or after the ``0x`` prefix, as
  in ``1_000``), ``inf``, ``infinity`` and ``nan`` in any case, no surrounding space, overflow
  is an error.

    >>> pattern = compile_pattern(r"^main-(?P<ts>[0-9]+)$")
    >>> expand("$ts", pattern.search("main-42"), pattern)
    '42'
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import re2

from bot.core.errors import PolicyError

__all__ = ["Matcher", "compile_pattern", "expand", "parse_float"]

# The stdlib's own parser (private, but stable since 3.11) tells which patterns are safe to run
# on ``re``; imported by name so no deprecated alias is touched.
_SRE_PARSER: Any = importlib.import_module("re._parser")

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False

# Constructs RE2 accepts that Python's re would read differently (or not at all): POSIX classes,
# octal escapes (backreferences in Python), `{,n}` (literal in Go), Go-only escapes and flags,
# and `\B`, which Python's re never matches in an empty string.
_RISKY = re.compile(r"\[:|\\[0-9pPQEzCxB]|\{,|\(\?[^:P]*U|\(\?<")
_SAFE_TEXT = re.compile(r"[!-~]*")


class _Match(Protocol):
    def group(self, index: int | str, /) -> Any: ...


@dataclass(frozen=True)
class Matcher:
    """A compiled Flux ``filterTags.pattern``."""

    pattern: str
    _re2: Any
    _fast: re.Pattern[str] | None
    group_names: tuple[tuple[str, int], ...]
    groups: int

    def search(self, text: str) -> _Match | None:
        """Unanchored leftmost-first search, Go's ``FindStringSubmatchIndex``."""
        if self._fast is not None and _SAFE_TEXT.fullmatch(text):
            return self._fast.search(text)
        m: _Match | None = self._re2.search(text)
        return m

    def searcher(self, texts: list[str]) -> Callable[[str], _Match | None]:
        """The fastest exact search function for this batch of texts."""
        if self._fast is not None and _SAFE_TEXT.fullmatch("".join(texts)):
            return self._fast.search
        return self.search


def _repeats_nullable(tree: Any) -> bool:
    """True when a quantifier applies to something that can match the empty string.

    Python's backtracking engine and RE2 disagree on such loops (``((b)?)+``, ``(a|b*)*``): which
    iteration a group keeps, and sometimes the extent of the match. Elsewhere, for the syntax
    both accept, leftmost-first backtracking and RE2 report the same match and groups.
    """
    for op, av in tree:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            inner = [av[2]]
            if av[2].getwidth()[0] == 0:
                return True
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            inner = [av[-1]]
        elif name == "BRANCH":
            inner = list(av[1])
        else:
            continue
        if any(_repeats_nullable(sub) for sub in inner):
            return True
    return False


def _python_equivalent(pattern: str) -> re.Pattern[str] | None:
    if not pattern.isascii() or _RISKY.search(pattern):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            compiled = re.compile(pattern, re.ASCII)
            tree = _SRE_PARSER.parse(pattern, re.ASCII)
        except (re.error, Warning):
            return None
    return None if _repeats_nullable(tree) else compiled


def compile_pattern(pattern: str) -> Matcher:
    """Compile a Go/RE2 pattern; :class:`PolicyError` when Go's regexp would reject it."""
    if not isinstance(pattern, str):
        raise PolicyError(f"filterTags.pattern must be a string, got {type(pattern).__name__}")
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except Exception as exc:  # re2 raises its own error type (re2._re2.Error or re2.error)
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PolicyError(
            f"filterTags.pattern {pattern!r} is not a valid RE2/Go regular expression: {detail}"
        ) from None
    listed = _capture_names(pattern)
    if listed is None:
        raise PolicyError(
            f"filterTags.pattern {pattern!r} is not a valid RE2/Go regular expression: "
            "invalid escape sequence: \\C (Go's regexp does not match single bytes)"
        )
    if len(listed) == compiled.groups:
        names = tuple((name, i) for i, name in enumerate(listed, 1) if name)
    else:  # pragma: no cover - the scan below disagrees with RE2: trust RE2's first-name map
        names = tuple(sorted(dict(compiled.groupindex).items(), key=lambda kv: kv[1]))
    return Matcher(pattern, compiled, _python_equivalent(pattern), names, compiled.groups)


def _capture_names(pattern: str) -> list[str] | None:
    """The name of every capturing group of a valid RE2 pattern, in order ("" when unnamed).

    Go accepts one name on several groups (``(?P<v>..)|v(?P<v>..)``) and ``$v`` then expands to
    the first of them that took part in the match; RE2's ``groupindex`` keeps one index per
    name, so the groups are listed from the pattern text. ``None`` when the pattern uses
    ``\\C``, the one escape RE2 accepts and Go rejects.
    """
    names: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if pattern.startswith("\\Q", i):  # literal text up to \E
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
            elif pattern.startswith("\\C", i):
                return None
            else:
                i += 2
        elif ch == "[":
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):  # a leading ] is a literal
                i += 1
            while i < n and pattern[i] != "]":
                if pattern.startswith("\\C", i):
                    return None
                if pattern[i] == "\\":
                    i += 2
                elif pattern.startswith("[:", i):
                    end = pattern.find(":]", i + 2)
                    i = i + 1 if end < 0 else end + 2
                else:
                    i += 1
            i += 1
        elif ch == "(":
            rest = pattern[i + 1 : i + 4]
            if rest.startswith(("?P<", "?<")):
                start = i + (4 if rest.startswith("?P<") else 3)
                end = pattern.find(">", start)
                names.append(pattern[start:end])
                i = end + 1
            else:
                if not rest.startswith("?"):
                    names.append("")
                i += 1
        else:
            i += 1
    return names


def _name_len(template: str, start: int) -> int:
    i = start
    while i < len(template) and (
        template[i] == "_" or template[i].isalpha() or template[i].isdecimal()
    ):
        i += 1
    return i - start


def _group_value(name: str, match: _Match, matcher: Matcher) -> str:
    num = -1
    if name.isascii() and name.isdigit() and not (name[0] == "0" and len(name) > 1):
        num = int(name) if len(name) <= 8 else -1
    if 0 <= num <= matcher.groups:
        value = match.group(num)
        return value if value is not None else ""
    if num < 0:
        for gname, index in matcher.group_names:  # Go: the first such group that matched
            if gname == name:
                value = match.group(index)
                if value is not None:
                    return str(value)
    return ""


def expand(template: str, match: _Match, matcher: Matcher) -> str:
    """Go's ``Regexp.ExpandString`` of ``template`` with ``match`` (of ``matcher``'s pattern)."""
    out: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        j = template.find("$", i)
        if j < 0:
            out.append(template[i:])
            break
        out.append(template[i:j])
        if j + 1 < n and template[j + 1] == "$":
            out.append("$")
            i = j + 2
            continue
        brace = j + 1 < n and template[j + 1] == "{"
        start = j + 2 if brace else j + 1
        length = _name_len(template, start)
        end = start + length
        if length == 0 or (brace and (end >= n or template[end] != "}")):
            out.append("$")  # malformed: keep the dollar literally
            i = j + 1
            continue
        out.append(_group_value(template[start:end], match, matcher))
        i = end + 1 if brace else end
    return "".join(out)


# Go's readFloat grammar: mantissa digits (at least one) with at most one dot, optional exponent;
# underscores are read anywhere in the digits and then vetted by _underscore_ok.
_DEC_FLOAT = re.compile(r"[+-]?(?=[0-9_.]*[0-9])[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9][0-9_]*)?")
_HEX_FLOAT = re.compile(
    r"([+-]?)0[xX](?=[0-9a-fA-F_.]*[0-9a-fA-F])([0-9a-fA-F_]*\.?[0-9a-fA-F_]*)[pP]([+-]?[0-9][0-9_]*)"
)
_SPECIAL = {"inf": float("inf"), "infinity": float("inf"), "nan": float("nan")}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _underscore_ok(text: str) -> bool:
    """Go's rule for ``_`` in number literals: only between digits, or after a base prefix."""
    if text[:1] in ("+", "-"):
        text = text[1:]
    saw, i, hexa = "^", 0, False
    if len(text) >= 2 and text[0] == "0" and text[1] in "bBoOxX":
        saw, i, hexa = "0", 2, text[1] in "xX"
    for ch in text[i:]:
        if "0" <= ch <= "9" or (hexa and ch in _HEX_DIGITS):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def parse_float(text: str) -> float | None:
    """Go's ``strconv.ParseFloat(text, 64)``; ``None`` where Go returns an error."""
    lowered = text.lower()
    if lowered.lstrip("+-") in _SPECIAL and len(lowered) - len(lowered.lstrip("+-")) <= 1:
        bare = lowered.lstrip("+-")
        if bare == "nan" and bare != lowered:
            return None  # Go accepts a sign only before Inf/Infinity
        value = _SPECIAL[bare]
        return -value if lowered.startswith("-") else value
    if "_" in text and not _underscore_ok(text):
        return None
    if _DEC_FLOAT.fullmatch(text):
        value = float(text.replace("_", ""))
        return None if value in (float("inf"), float("-inf")) else value
    hexm = _HEX_FLOAT.fullmatch(text)
    if hexm:
        sign, mantissa, exponent = hexm.groups()
        try:
            return float.fromhex(f"{sign}0x{mantissa.replace('_', '')}p{exponent.replace('_', '')}")
        except OverflowError:
            return None
    return None
