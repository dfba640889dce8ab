"""Flux ``postBuild`` variable substitution, with the semantics of drone/envsubst as Flux uses it.

kustomize-controller serialises each built object to YAML and runs ``envsubst.Eval`` over the text
with a mapping that yields ``""`` for unknown names. Only braced forms are expressions
(``${var}``, ``${var:=default}``, ``${var:-default}``, ``${var=default}``, casing, substring,
replace and trim forms); ``$var`` stays as it is. In plain text ``$$`` becomes ``$`` (so
``$${var}`` yields ``${var}``), and ``\\\\`` and ``\\/`` lose their backslash. Malformed
expressions fail the build with "bad substitution". Objects labelled or annotated
``kustomize.toolkit.fluxcd.io/substitute: disabled`` are left alone.

    >>> envsubst("image: app:${TAG:=1.0} cost: $$5", {"X": "1"})
    'image: app:1.0 cost: $5'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.core.errors import RenderError

VAR_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*\Z")
DISABLED_KEY = "kustomize.toolkit.fluxcd.io/substitute"


class BadSubstitution(RenderError):
    """A ``${...}`` expression envsubst cannot parse."""


def _ident(c: str) -> bool:
    return c.isalnum() or c in "_-"


class _Parser:
    def __init__(self, text: str, lookup: Mapping[str, str]) -> None:
        self.s = text
        self.i = 0
        self.vars = lookup

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def text(self) -> str:
        """Top-level text up to the end, expanding expressions and escapes."""
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "$" and self.peek(1) == "{":
                self.i += 2
                out.append(self.func())
            elif (c == "$" and self.peek(1) == "$") or (c == "\\" and self.peek(1) in ("\\", "/")):
                out.append(self.peek(1))
                self.i += 2
            else:
                out.append(c)
                self.i += 1
        return "".join(out)

    def param(self, stop: str, escapes: bool = False) -> str:
        """An argument up to a char in ``stop``, nested ``${...}`` expanded.

        With ``escapes`` (replace patterns), ``\\/``, ``\\\\`` and ``$$`` drop their first char.
        """
        out: list[str] = []
        while self.i < len(self.s) and self.s[self.i] not in stop:
            c = self.s[self.i]
            if escapes and (
                (c == "\\" and self.peek(1) in ("\\", "/")) or (c == "$" and self.peek(1) == "$")
            ):
                out.append(self.peek(1))
                self.i += 2
            elif c == "$" and self.peek(1) == "{":
                self.i += 2
                out.append(self.func())
            else:
                out.append(self.s[self.i])
                self.i += 1
        return "".join(out)

    def close(self) -> None:
        if self.peek() != "}":
            raise BadSubstitution("variable substitution failed: bad substitution")
        self.i += 1

    def name(self) -> str:
        start = self.i
        while self.i < len(self.s) and _ident(self.s[self.i]):
            self.i += 1
        if self.i == start:
            raise BadSubstitution("variable substitution failed: bad substitution")
        return self.s[start : self.i]

    def func(self) -> str:
        if self.peek() == "#":
            self.i += 1
            name = self.name()
            self.close()
            return str(len(self.vars.get(name, "").encode()))
        name = self.name()
        value = self.vars.get(name, "")
        c = self.peek()
        if c == "}":
            self.i += 1
            return value
        if c == "=" or (c == ":" and self.peek(1) in ("=", "-", "?", "+")):
            self.i += 1 if c == "=" else 2
            default = self.param("}")
            self.close()
            return value if value else default
        if c == ":":
            self.i += 1
            pos = self.param(":}")
            length = None
            if self.peek() == ":":
                self.i += 1
                length = self.param("}")
            self.close()
            return _substr(value, pos, length)
        if c in ",^":
            op = c
            self.i += 1
            if self.peek() == op:
                self.i += 1
                op += op
            self.close()
            if op == ",":
                return value[:1].lower() + value[1:]
            if op == "^":
                return value[:1].upper() + value[1:]
            return value.lower() if op == ",," else value.upper()
        if c == "/":
            self.i += 1
            mode = ""
            if self.peek() in "/#%" and self.peek():
                mode = self.peek()
                self.i += 1
            pattern = self.param("/", escapes=True)
            if self.peek() != "/":
                raise BadSubstitution("variable substitution failed: bad substitution")
            self.i += 1
            repl = self.param("}", escapes=True) if self.peek() != "}" else ""
            self.close()
            return _replace(value, mode, pattern, repl)
        if c in "#%":
            op = c
            self.i += 1
            if self.peek() == c:
                op += c
                self.i += 1
            pattern = self.param("}")
            self.close()
            return _trim(value, op, pattern)
        raise BadSubstitution("variable substitution failed: bad substitution")


def _substr(value: str, pos_text: str, length_text: str | None) -> str:
    try:
        pos = int(pos_text)
    except ValueError:
        return value
    if pos < 0:
        pos = max(len(value) + pos, 0)
    if length_text is None:
        return value[pos:] if pos < len(value) else ""
    try:
        length = int(length_text)
    except ValueError:
        return value
    return value[pos:] if pos + length >= len(value) else value[pos : pos + length]


def _replace(value: str, mode: str, pattern: str, repl: str) -> str:
    if mode == "/":
        return value.replace(pattern, repl)
    if mode == "#":
        return repl + value[len(pattern) :] if value.startswith(pattern) else value
    if mode == "%":
        return value[: len(value) - len(pattern)] + repl if value.endswith(pattern) else value
    return value.replace(pattern, repl, 1)


def _glob(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts) + r"\Z", re.S)


def _trim(value: str, op: str, pattern: str) -> str:
    rx = _glob(pattern)
    if op in ("%", "%%"):  # suffix: work on reversed strings like envsubst does
        rev = _trim(value[::-1], "#" if op == "%" else "##", pattern[::-1])
        return rev[::-1]
    matches = [i for i in range(len(value), 0, -1) if rx.match(value[:i])]
    if not matches:
        return value
    cut = matches[0] if op == "##" else matches[-1]
    return value[cut:]


def envsubst(text: str, variables: Mapping[str, str]) -> str:
    """Evaluate ``text`` like ``envsubst.Eval(text, func(k) { return vars[k] })``."""
    return _Parser(text, variables).text()


def validate_names(variables: Mapping[str, str]) -> None:
    for name in variables:
        if not VAR_NAME.match(name):
            raise RenderError(
                f"'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
            )


def collect_vars(sources: list[Mapping[str, str]], inline: Mapping[str, str]) -> dict[str, str]:
    """``substituteFrom`` data in order (later wins), then inline ``substitute`` (wins over all).

    Newlines are removed from every value, as kustomize-controller does.
    """
    merged: dict[str, str] = {}
    for data in [*sources, inline]:
        for key, value in data.items():
            merged[str(key)] = str(value).replace("\n", "")
    return merged


def disabled(obj: Mapping[str, Any]) -> bool:
    """Whether the object opts out with ``kustomize.toolkit.fluxcd.io/substitute: disabled``."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return labels.get(DISABLED_KEY) == "disabled" or annotations.get(DISABLED_KEY) == "disabled"
