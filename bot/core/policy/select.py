"""Flux ImagePolicy selection: ``spec.policy`` (semver/alphabetical/numerical), ``filterTags``.

:class:`Policy` is a spec parsed and validated once; :meth:`Policy.select` picks a tag the way
image-reflector-controller v1 does; :meth:`Policy.explain` says, tag by tag, why.

    >>> policy = Policy.from_spec({"policy": {"semver": {"range": "^1.2"}}})
    >>> policy.select(["1.2.0", "1.9.1", "2.0.0"])
    '1.9.1'

Flux semantics kept exactly (image-reflector-controller ``internal/policy``):

* ``filterTags``: tags the pattern does not find are dropped; with ``extract`` the expanded value
  is ranked and the original tag returned. Flux keys a map by the extracted value, so two tags
  extracting the same value keep one (the later one in registry order).
* ``semver``: candidates are tags ``fluxcd/pkg/version.ParseVersion`` accepts; the greatest in
  range wins; ``Original()`` (the tag as written) is returned.
* ``alphabetical``: ``asc`` picks the largest string, ``desc`` the smallest (byte order).
* ``numerical``: every candidate must parse with Go's ``ParseFloat`` or the policy fails; ties go
  to the later tag.

Flux's tie-breaking depends on the order of its tag list (registry order, which the distribution
spec makes lexical). We evaluate as if the tags came in byte order, so the answer is the one Flux
gives for a registry's listing and never depends on the order the caller passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.errors import PolicyError
from bot.core.policy import gosyntax, semver

__all__ = ["Decision", "Explanation", "Policy"]

_KINDS = ("semver", "alphabetical", "numerical")
_U64_DIGITS = 20
_U64 = 2**64


@dataclass(frozen=True)
class Decision:
    """What happened to one tag: kept (a candidate) or dropped, and why."""

    tag: str
    kept: bool
    reason: str
    value: str | None = None  # the ranked value (the extracted value under filterTags.extract)


@dataclass(frozen=True)
class Explanation:
    """The per-tag story of one selection; ``selected`` is None when the policy failed."""

    selected: str | None
    error: str | None
    decisions: tuple[Decision, ...]


def _order(kind: str, body: Mapping[str, Any]) -> str:
    order = body.get("order", "")
    if order is None:
        order = ""
    if not isinstance(order, str) or order.upper() not in ("", "ASC", "DESC"):
        raise PolicyError(f"{kind}.order must be 'asc' or 'desc', got {order!r}")
    return "desc" if order.upper() == "DESC" else "asc"


@dataclass(frozen=True)
class Policy:
    """A validated ImagePolicy ``spec`` (``policy`` + optional ``filterTags``)."""

    kind: str
    range: semver.Constraint | None
    order: str
    matcher: gosyntax.Matcher | None
    extract: str

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Policy:
        """Parse and validate; :class:`PolicyError` names the offending field."""
        if not isinstance(spec, Mapping):
            raise PolicyError(f"policy spec must be a mapping, got {type(spec).__name__}")
        choice = spec.get("policy")
        if not isinstance(choice, Mapping):
            raise PolicyError("spec.policy is missing: give one of semver, alphabetical, numerical")
        kinds = [k for k in _KINDS if choice.get(k) is not None]
        unknown = sorted(set(choice) - set(_KINDS))
        if unknown:
            raise PolicyError(
                f"spec.policy has unknown key(s) {unknown}: use one of {list(_KINDS)}"
            )
        if len(kinds) != 1:
            raise PolicyError(f"spec.policy must set exactly one of {list(_KINDS)}, got {kinds}")
        kind = kinds[0]
        body = choice[kind]
        if not isinstance(body, Mapping):
            raise PolicyError(f"spec.policy.{kind} must be a mapping")
        constraint = None
        order = "asc"
        if kind == "semver":
            rng = body.get("range")
            if rng is None:
                raise PolicyError("spec.policy.semver.range is required (a Masterminds range)")
            if not isinstance(rng, str):
                raise PolicyError(
                    f"spec.policy.semver.range must be a string, got {type(rng).__name__} {rng!r}"
                    " (quote it in YAML)"
                )
            constraint = semver.compile_range(rng)
        else:
            order = _order(kind, body)
        matcher, extract = None, ""
        filt = spec.get("filterTags")
        if filt is not None:
            if not isinstance(filt, Mapping):
                raise PolicyError("spec.filterTags must be a mapping with pattern/extract")
            pattern = filt.get("pattern", "")
            extract = filt.get("extract", "") or ""
            if not isinstance(extract, str):
                raise PolicyError("spec.filterTags.extract must be a string")
            matcher = gosyntax.compile_pattern(pattern if pattern is not None else "")
        return cls(kind, constraint, order, matcher, extract)

    def describe(self) -> str:
        """One line naming the policy, for messages."""
        if self.kind == "semver" and self.range is not None:
            head = f"semver range {self.range.text!r}"
        else:
            head = f"{self.kind} order {self.order}"
        if self.matcher is not None:
            head += f" with filterTags.pattern {self.matcher.pattern!r}"
            if self.extract:
                head += f" extract {self.extract!r}"
        return head

    # -- selection ---------------------------------------------------------------------------

    def _filtered(self, tags: list[str]) -> dict[str, str]:
        """Flux's RegexFilter: extracted value -> original tag (later tag in byte order wins)."""
        assert self.matcher is not None
        search = self.matcher.searcher(tags)
        out: dict[str, str] = {}
        extract = self.extract
        matcher = self.matcher
        for tag in tags:
            m = search(tag)
            if m is None:
                continue
            value = gosyntax.expand(extract, m, matcher) if extract else tag
            prev = out.get(value)
            if prev is None or tag > prev:
                out[value] = tag
        return out

    def select(self, tags: Iterable[str]) -> str:
        """The tag Flux would select; :class:`PolicyError` when none qualifies."""
        items = tags if isinstance(tags, list) else list(tags)
        if not items:
            raise PolicyError(f"{self.describe()}: no tags to choose from")
        if self.matcher is None:
            values: Iterable[str] = items
            original: dict[str, str] | None = None
        else:
            original = self._filtered(items)
            if not original:
                raise PolicyError(
                    f"filterTags.pattern {self.matcher.pattern!r} matched none of the "
                    f"{len(items)} tags ({_sample(items)})"
                )
            values = original.keys()
        chosen = self._rank(values, len(items))
        return original[chosen] if original is not None else chosen

    def _rank(self, values: Iterable[str], total: int) -> str:
        if self.kind == "semver":
            assert self.range is not None
            best = _best_semver(self.range, values)
            if best is None:
                seen = list(values)
                raise PolicyError(
                    f"{self.describe()}: none of the {total} tags is a semver version in range "
                    f"({_sample(seen)})"
                )
            return best
        if self.kind == "alphabetical":
            return max(values) if self.order == "asc" else min(values)
        return _best_numerical(self.order, values)

    # -- explanation -------------------------------------------------------------------------

    def explain(self, tags: Iterable[str]) -> Explanation:
        """Per-tag decisions and the selection (or the failure) for ``--explain``."""
        items = sorted(set(tags))
        decisions: dict[str, Decision] = {}
        ranked: dict[str, str] = {}
        if self.matcher is None:
            ranked = {t: t for t in items}
        else:
            for value, tag in self._filtered(items).items():
                ranked[value] = tag
            winners = set(ranked.values())
            for tag in items:
                m = self.matcher.search(tag)
                if m is None:
                    decisions[tag] = Decision(tag, False, "filterTags.pattern does not match")
                elif tag not in winners:
                    value = gosyntax.expand(self.extract, m, self.matcher) if self.extract else tag
                    decisions[tag] = Decision(
                        tag, False, f"extracts {value!r}, same as {ranked[value]!r}", value
                    )
        for value, tag in ranked.items():
            decisions[tag] = self._judge(tag, value)
        try:
            selected: str | None = self.select(items)
            error = None
        except PolicyError as exc:
            selected, error = None, str(exc)
        top = self._semver_key(selected, decisions)
        final = []
        for tag in items:
            d = decisions[tag]
            if tag == selected:
                d = Decision(tag, True, "selected", d.value)
            elif d.kept and top is not None and self._semver_key(tag, decisions) == top:
                d = Decision(
                    tag, True, f"same version as {selected!r}; the byte-first tag wins", d.value
                )
            final.append(d)
        return Explanation(selected, error, tuple(final))

    def _semver_key(self, tag: str | None, decisions: Mapping[str, Decision]) -> semver.Key | None:
        if self.kind != "semver" or tag is None:
            return None
        value = decisions[tag].value
        version = semver.parse_tag(tag if value is None else value)
        return version.key if version is not None else None

    def _judge(self, tag: str, value: str) -> Decision:
        shown = value if value != tag else None
        if self.kind == "semver":
            assert self.range is not None
            version = semver.parse_tag(value)
            if version is None:
                why = "not a semver version (needs two dots)"
                if value.count(".") >= 2:
                    why = "not a semver version"
                return Decision(tag, False, why, shown)
            reason = self.range.why_not(version)
            if reason:
                return Decision(tag, False, reason, shown)
            return Decision(tag, True, "in range, not the greatest", shown)
        if self.kind == "numerical" and gosyntax.parse_float(value) is None:
            return Decision(tag, False, "not a number: fails the numerical policy", shown)
        return Decision(tag, True, f"candidate, not the {self._extreme()}", shown)

    def _extreme(self) -> str:
        if self.kind == "alphabetical":
            return "last alphabetically" if self.order == "asc" else "first alphabetically"
        return "largest number" if self.order == "asc" else "smallest number"


def _sample(items: Iterable[str], limit: int = 5) -> str:
    head = sorted(items)[:limit]
    return "first: " + ", ".join(head) if head else "none"


def _best_semver(constraint: semver.Constraint, values: Iterable[str]) -> str | None:
    """Greatest in-range version (ties: byte-smallest tag, Flux's first-seen in registry order).

    Hot loop: plain ``X.Y.Z``/``vX.Y.Z`` tags take a split-and-isdigit fast path that agrees with
    :func:`semver.parse_tag` on them; everything else goes through the full parser. A tag that
    cannot beat the best so far is never checked against the range.
    """
    slow_parse = semver.parse_tag
    check = constraint.check
    best: str = ""
    best_key: semver.Key | None = None
    best_major = -1
    max_major = constraint.max_major if constraint.max_major is not None else _U64
    for tag in values:
        parts = tag.split(".", 2)
        if len(parts) != 3:  # Flux: fewer than two dots is not a candidate
            continue
        a, b, c = parts
        if a[:1] == "v":
            a = a[1:]
        key: semver.Key
        if a.isdigit() and tag.isascii() and len(a) < _U64_DIGITS:
            major = int(a)  # the version's major, whatever follows
            if major < best_major or major > max_major:
                continue
            if c.isdigit() and b.isdigit() and len(b) < _U64_DIGITS and len(c) < _U64_DIGITS:
                key = (major, int(b), int(c), 1, ())
            else:
                parsed = slow_parse(tag)
                if parsed is None:
                    continue
                key = parsed.key
        else:
            parsed = slow_parse(tag)
            if parsed is None:
                continue
            key = parsed.key
        if best_key is not None:
            if key < best_key:
                continue
            if key == best_key:
                if tag < best:
                    best = tag
                continue
        if check(key):
            best, best_key, best_major = tag, key, key[0]
    return best if best_key is not None else None


def _best_numerical(order: str, values: Iterable[str]) -> str:
    """Flux's loop over the tags in byte order: a later tag wins ties; one non-number fails."""
    latest = ""
    current = 0.0
    first = True
    for value in sorted(values):
        number = gosyntax.parse_float(value)
        if number is None:
            raise PolicyError(
                f"numerical policy: {value!r} is not a number "
                "(Flux fails the policy when any candidate tag is not numeric; "
                "use filterTags to narrow the candidates)"
            )
        if not first and (
            (order == "asc" and number < current) or (order == "desc" and number > current)
        ):
            continue
        first = False
        latest, current = value, number
    return latest
