"""Write a new value into a YAML scalar's place, keeping its style the way Flux does.

Flux's image-automation-controller (kyaml ``FormatNonStringStyle``) double-quotes a plain value
that a YAML 1.1 parser (go-yaml v2) would read as something other than a string - a number, a
boolean, null - and keeps single or double quotes when the original had them::

    >>> render("1.25", "")
    '"1.25"'
    >>> render("nginx:1.25", "")
    'nginx:1.25'
    >>> render("it's", "'")
    "'it''s'"
"""

from __future__ import annotations

import itertools
import re

__all__ = ["reads_as_non_string", "render", "splice"]

# go-yaml v2 (YAML 1.1) resolution of plain scalars into interface{}
_NULL_11 = frozenset(("~", "null", "Null", "NULL"))
_BOOL_11 = frozenset(
    {
        *("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON"),
        *("off", "Off", "OFF", "true", "True", "TRUE", "false", "False", "FALSE"),
    }
)
_INT_11 = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)")
_FLOAT_11 = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_11 = frozenset(
    {
        *(".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"),
        *(".nan", ".NaN", ".NAN"),
    }
)
_PLAIN_FIRST_BAD = frozenset("[]{},#&*!|>'\"%@`")
_PRINTABLE = re.compile(r"[\t\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def reads_as_non_string(value: str) -> bool:
    """True when go-yaml v2 would read the plain scalar ``value`` as a non-string."""
    if value == "" or "\n" in value:
        return False
    if value in _NULL_11 or value in _BOOL_11 or value in _SPECIAL_11:
        return True
    if value[0] in "+-.0123456789":
        plain = value.replace("_", "")
        if _INT_11.fullmatch(plain) or _FLOAT_11.fullmatch(plain):
            return True
    # collections and comment-only text parse as non-strings too
    return (
        value[0] in "[{#"
        or value.startswith("- ")
        or value == "-"
        or ": " in value
        or value.endswith(":")
    )


def _plain_ok(value: str, flow: bool) -> bool:
    if not value or value != value.strip() or not _PRINTABLE.fullmatch(value):
        return False
    first = value[0]
    if first in _PLAIN_FIRST_BAD:
        return False
    if first in "-?:" and (len(value) == 1 or value[1] in " \t"):
        return False
    if ": " in value or " #" in value or value.endswith(":") or "\t" in value:
        return False
    return not (flow and any(c in value for c in ",[]{}"))


def _double(value: str) -> str:
    out = []
    for ch in value:
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render(value: str, style: str, *, flow: bool = False) -> str:
    """The source text for ``value`` in a scalar whose original style was ``style``."""
    if style == '"':
        return _double(value)
    if style == "'":
        if "\n" in value or not _PRINTABLE.fullmatch(value):
            return _double(value)
        return "'" + value.replace("'", "''") + "'"
    if reads_as_non_string(value):
        return _double(value)
    if _plain_ok(value, flow):
        return value
    if "\n" in value or not _PRINTABLE.fullmatch(value):
        return _double(value)
    return "'" + value.replace("'", "''") + "'"


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace each ``[start, end)`` span of ``text``; spans must not overlap."""
    if not edits:
        return text
    ordered = sorted(edits)
    for (_, end, _), (start, _, _) in itertools.pairwise(ordered):
        if start < end:
            raise ValueError("overlapping edits")
    parts: list[str] = []
    pos = 0
    for start, end, new in ordered:
        parts.append(text[pos:start])
        parts.append(new)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)
