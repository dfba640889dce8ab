"""Masterminds/semver v3 versions and ranges, as Flux's image-reflector-controller uses them.

Owns two things, both pure:

* version parsing: :func:`parse_version` is Masterminds' lenient ``NewVersion`` (``v`` prefix,
  missing minor/patch, leading zeros in the numbers); :func:`parse_tag` adds Flux's rule that a
  tag is a semver candidate only with at least two dots (``fluxcd/pkg/version.ParseVersion``);
* constraints: :func:`compile_range` parses a range once into a :class:`Constraint` whose
  :meth:`Constraint.check` is a chain of small predicates over a comparable key.

    >>> matches(">=1.2, <2 || ^3.1", "3.4.0")
    True
    >>> matches(">=1.0.0", "1.1.0-rc.1")   # prereleases need a prerelease comparator in the group
    False

The grammar and every operator's meaning follow Masterminds v3.4 (see the Masterminds README:
``= != > < >= <= ~ ~> ^``, ``x``/``X``/``*`` wildcards, partial versions, ``a - b`` hyphen
ranges, ``||`` and comma/space AND, the ``^0.x``/``^0.0.x`` rules, and "a prerelease version only
matches when a comparator of the same AND group has a prerelease"). It is written here, not
borrowed from the ``semver`` PyPI package: that package implements spec precedence but not these
range rules, nor Masterminds' quirks (e.g. ``>1.2`` means ``>=1.3.0``, ``<=1.2`` means ``<1.3.0``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import re2

from bot.core.errors import PolicyError

__all__ = [
    "Constraint",
    "Version",
    "compile_range",
    "matches",
    "parse_tag",
    "parse_version",
]

_U64 = 2**64
# Go's regexp ``\s`` is ASCII-only: tab, newline, form feed, carriage return, space.
_WS = "[\t\n\f\r ]"

# Versions (Masterminds' loose NewVersion grammar; ASCII digits only, anchored with fullmatch).
_IDENT = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(rf"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-({_IDENT}))?(?:\+({_IDENT}))?")

# Constraints. Masterminds' number class is ``[0-9|x|X|\*]`` (the ``|`` is literal there, and
# such versions then fail to parse); the operator alternation includes the empty operator.
_NUM = r"[0-9|xX*]+"
_CV = rf"v?{_NUM}(?:\.{_NUM})?(?:\.{_NUM})?(?:-{_IDENT})?(?:\+{_IDENT})?"
_CV_PARTS = rf"v?({_NUM})(\.{_NUM})?(\.{_NUM})?(-{_IDENT})?(?:\+{_IDENT})?"
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
# The grammar regexes run on RE2 (linear time, Go's leftmost-first semantics): a range comes from
# a config file and must not be able to make a backtracking engine spin.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_HYPHEN = re2.compile(rf"{_WS}*({_CV}){_WS}+-{_WS}+({_CV}){_WS}*", _RE2_OPTIONS)
_AND_GROUP = re2.compile(
    rf"{_WS}*(?:{_OPS}){_WS}*{_CV}{_WS}*(?:(?:{_WS}+|,{_WS}*)(?:{_OPS}){_WS}*{_CV}{_WS}*)*",
    _RE2_OPTIONS,
)
_TOKEN = re2.compile(rf"(?:{_OPS}){_WS}*{_CV}", _RE2_OPTIONS)
_COMPARATOR = re2.compile(rf"{_WS}*({_OPS}){_WS}*({_CV_PARTS}){_WS}*", _RE2_OPTIONS)

# A comparable key: (major, minor, patch, 1, ()) for a release, (major, minor, patch, 0, pre)
# for a prerelease, where pre holds (0, int) for numeric and (1, str) for other identifiers.
# Tuple order is then exactly Masterminds' Version.Compare (build metadata ignored).
Key = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]
Predicate = Callable[[Key], bool]


@dataclass(frozen=True, slots=True)
class Version:
    """A parsed version; ``original`` is the string it came from (reported back unchanged)."""

    major: int
    minor: int
    patch: int
    prerelease: str
    build: str
    original: str

    @property
    def key(self) -> Key:
        """Sort key ordering versions as Masterminds' ``Compare`` does."""
        return _key(self.major, self.minor, self.patch, self.prerelease)


def _pre_key(pre: str) -> tuple[tuple[int, int | str], ...]:
    out: list[tuple[int, int | str]] = []
    for part in pre.split("."):
        # Go's ParseUint: all digits and below 2**64 is numeric; anything else compares as text.
        if part.isdigit() and (len(part) < 20 or int(part) < _U64):
            out.append((0, int(part)))
        else:
            out.append((1, part))
    return tuple(out)


def _key(major: int, minor: int, patch: int, pre: str) -> Key:
    if pre:
        return (major, minor, patch, 0, _pre_key(pre))
    return (major, minor, patch, 1, ())


def _valid_prerelease(pre: str) -> bool:
    """Numeric prerelease identifiers may not have leading zeros (Masterminds rejects them)."""
    return all(not (p.isdigit() and len(p) > 1 and p[0] == "0") for p in pre.split("."))


def parse_version(text: str) -> Version | None:
    """Masterminds ``NewVersion`` (v3.4, coercing): ``None`` when it would return an error."""
    m = _VERSION.fullmatch(text)
    if m is None:
        return None
    major_s, minor_s, patch_s, pre, build = m.groups()
    major, minor, patch = int(major_s), int(minor_s or 0), int(patch_s or 0)
    if major >= _U64 or minor >= _U64 or patch >= _U64:
        return None
    if pre and not _valid_prerelease(pre):
        return None
    return Version(major, minor, patch, pre or "", build or "", text)


def parse_tag(tag: str) -> Version | None:
    """Flux's ``version.ParseVersion``: at least two dots, then ``NewVersion``; else ``None``."""
    if tag.count(".") < 2:
        return None
    return parse_version(tag)


def _is_x(part: str) -> bool:
    return part in ("x", "X", "*")


@dataclass(frozen=True)
class _Comparator:
    op: str
    text: str
    key: Key
    dirty: bool
    minor_dirty: bool
    patch_dirty: bool

    @property
    def has_prerelease(self) -> bool:
        return self.key[3] == 0


def _parse_comparator(token: str, whole: str) -> _Comparator:
    m = _COMPARATOR.fullmatch(token)
    if m is None:  # pragma: no cover - the group regex already accepted the token
        raise PolicyError(f"semver range {whole!r}: improper constraint: {token}")
    op, cv, major, minor, patch, pre = m.groups()
    pre = pre or ""
    dirty = minor_dirty = patch_dirty = False
    if _is_x(major):
        ver, dirty = f"0.0.0{pre}", True
    elif minor is None or _is_x(minor[1:]):
        ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif patch is None or _is_x(patch[1:]):
        ver, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
    else:
        ver = cv
    parsed = parse_version(ver)
    if parsed is None:
        raise PolicyError(
            f"semver range {whole!r}: cannot parse version {cv!r} in {token.strip()!r}"
        )
    return _Comparator(op, cv, parsed.key, dirty, minor_dirty, patch_dirty)


def _predicate(c: _Comparator) -> Predicate:
    """Compile one comparator into a function of a version key (prerelease gating is done above)."""
    ck = c.key
    cmaj, cmin, cpat = ck[0], ck[1], ck[2]
    cpre = ck[4]
    op = c.op
    if op in ("", "=") and not c.dirty:
        return lambda k: k == ck
    if op in ("", "=", "~", "~>"):
        if cmaj == cmin == cpat == 0 and not c.minor_dirty and not c.patch_dirty:
            return lambda k: k >= ck
        if c.minor_dirty:
            return lambda k: k >= ck and k[0] == cmaj
        return lambda k: k >= ck and k[0] == cmaj and k[1] == cmin
    if op == "^":
        if cmaj > 0 or c.minor_dirty:
            return lambda k: k >= ck and k[0] == cmaj
        if cmin > 0 or c.patch_dirty:
            return lambda k: k >= ck and k[0] == 0 and k[1] == cmin
        return lambda k: k >= ck and k[0] == 0 and k[1] == 0 and k[2] == cpat
    if op == "<":
        return lambda k: k < ck
    if op in (">=", "=>"):
        return lambda k: k >= ck
    if op == ">":
        if not c.dirty:
            return lambda k: k > ck
        if c.minor_dirty:  # >1 means a higher major
            return lambda k: k[0] > cmaj
        if c.patch_dirty:  # >1.2 means >=1.3.0
            return lambda k: k[0] > cmaj or (k[0] == cmaj and k[1] > cmin)
        return lambda k: k > ck  # >* (major wildcard): plain comparison with 0.0.0
    if op in ("<=", "=<"):
        if not c.dirty:
            return lambda k: k <= ck
        if c.minor_dirty:  # <=1 means any 1.x.y or lower
            return lambda k: k[0] <= cmaj
        # <=1.2 means <1.3.0 (and <=* only admits 0.0.z, as Masterminds does)
        return lambda k: k[0] < cmaj or (k[0] == cmaj and k[1] <= cmin)
    if op == "!=":
        if not c.dirty:
            return lambda k: k != ck
        if c.minor_dirty:  # != 1.x excludes the whole major
            return lambda k: k[0] != cmaj
        if c.patch_dirty:  # != 1.2.x excludes the minor (prereleases differing from the range's)
            return lambda k: k[0] != cmaj or k[1] != cmin or (k[4] != cpre)
        return lambda k: k[:3] != (cmaj, cmin, cpat) or k != ck
    raise PolicyError(f"unknown semver operator {op!r}")  # pragma: no cover


def _major_bound(c: _Comparator) -> int | None:
    """The largest major a version satisfying ``c`` can have (None: unbounded)."""
    if c.op in (">", ">=", "=>", "!="):
        return None
    tilde_like = c.op in ("~", "~>") or (c.op in ("", "=") and c.dirty)
    if tilde_like and c.key[:3] == (0, 0, 0) and not c.minor_dirty and not c.patch_dirty:
        return None  # "*", "x", "~0.0.0": anything from 0.0.0 up
    return c.key[0]


@dataclass(frozen=True)
class Constraint:
    """A compiled range: OR of AND groups; each group remembers whether it admits prereleases.

    ``max_major`` bounds the major of any matching version (None: unbounded); selection uses
    it to skip hopeless tags before building their keys.
    """

    text: str
    groups: tuple[tuple[bool, tuple[Predicate, ...]], ...]
    max_major: int | None = None

    def check(self, key: Key) -> bool:
        """True when a version with this key satisfies the range."""
        is_pre = key[3] == 0
        for admits_pre, preds in self.groups:
            if is_pre and not admits_pre:
                continue
            for pred in preds:
                if not pred(key):
                    break
            else:
                return True
        return False

    def check_version(self, version: Version) -> bool:
        """True when ``version`` satisfies the range."""
        return self.check(version.key)

    def why_not(self, version: Version) -> str:
        """A short reason ``version`` fails (for ``--explain``); empty when it matches."""
        if self.check(version.key):
            return ""
        if version.prerelease and not any(pre for pre, _ in self.groups):
            return "prerelease, and no comparator in the range has a prerelease"
        return f"outside range {self.text!r}"


def _rewrite_hyphen_ranges(text: str) -> str:
    out = text
    for m in _HYPHEN.finditer(text):
        out = out.replace(m.group(0), f">= {m.group(1)}, <= {m.group(2)} ", 1)
    return out


def compile_range(text: str) -> Constraint:
    """Parse a Masterminds range once; raises :class:`PolicyError` naming the bad part."""
    if not isinstance(text, str):
        raise PolicyError(f"semver range must be a string, got {type(text).__name__}")
    groups: list[tuple[bool, tuple[Predicate, ...]]] = []
    bounds: list[int | None] = []
    for segment in _rewrite_hyphen_ranges(text).split("||"):
        if _AND_GROUP.fullmatch(segment) is None:
            raise PolicyError(f"semver range {text!r} is invalid: improper constraint: {segment!r}")
        comparators = [_parse_comparator(t.group(0), text) for t in _TOKEN.finditer(segment)] or [
            _parse_comparator(segment, text)
        ]
        admits_pre = any(c.has_prerelease for c in comparators)
        groups.append((admits_pre, tuple(_predicate(c) for c in comparators)))
        finite = [b for b in map(_major_bound, comparators) if b is not None]
        bounds.append(min(finite) if finite else None)
    max_major = None if None in bounds else max(b for b in bounds if b is not None)
    return Constraint(text, tuple(groups), max_major)


def matches(constraint: str, version: str) -> bool:
    """Masterminds ``NewConstraint(constraint).Check(version)``, ``version`` parsed as Flux
    parses a tag (:func:`parse_tag`, the policy's parser: two dots required).

    An invalid constraint raises :class:`PolicyError`; a version Flux would not take as a tag
    gives ``False``.
    """
    compiled = compile_range(constraint)
    parsed = parse_tag(version)
    return parsed is not None and compiled.check(parsed.key)
