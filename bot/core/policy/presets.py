"""Built-in named policies (``policies/presets/*.yaml``) and the config JSON Schema, as data.

A preset is a Flux ImagePolicy ``spec`` template. Relative presets (``patch-only``,
``minor-only``, ``digest``) are resolved against the tag currently deployed:

    >>> preset_spec("patch-only", "v1.4.2")["policy"]["semver"]["range"]
    '>=1.4.2 <1.5.0'

Placeholders in string values: ``{major}``, ``{minor}``, ``{patch}``, ``{next_major}``,
``{next_minor}``, ``{next_patch}`` (from the current tag, parsed like Flux parses tags, bumped with
the ``semver`` package) and ``{tag_regex}`` (the current tag, regex-escaped).

Where the files live: the source of truth is the top-level ``policies/`` directory. A checkout
(or editable install) reads it in place; ``pip install .`` installs a copy as data files under
``<prefix>/share/fluxbot/policies`` (pyproject ``[tool.setuptools.data-files]``), found through
``sysconfig``. Setuptools cannot map a directory outside the package into package data while
packages are auto-discovered, hence data files rather than ``importlib.resources``.
"""

from __future__ import annotations

import json
import re
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import semver as pysemver
from ruamel.yaml import YAML

from bot.core.errors import ConfigError, PolicyError
from bot.core.policy.semver import parse_tag, parse_version

__all__ = ["Preset", "policies_dir", "preset_names", "preset_spec", "presets", "schema"]

_PLACEHOLDER = re.compile(r"\{(major|minor|patch|next_major|next_minor|next_patch|tag_regex)\}")


# policies/ next to the bot/ package: a checkout or an editable install.
_CHECKOUT = Path(__file__).resolve().parents[3] / "policies"


def policies_dir() -> Path:
    """The directory holding ``schema.json`` and ``presets/`` (checkout first, then installed).

    An installed copy sits under the data path of the scheme pip used: the environment's prefix
    (``pip install .``, venvs) or the user base (``pip install --user .``).
    """
    candidates = [_CHECKOUT]
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        data = Path(sysconfig.get_path("data", scheme)) / "share" / "fluxbot" / "policies"
        if data not in candidates:
            candidates.append(data)
    for candidate in candidates:
        if (candidate / "schema.json").is_file():
            return candidate
    raise ConfigError(
        "fluxbot's policy data (schema.json, presets) is missing; looked in "
        + ", ".join(str(c) for c in candidates)
    )


@cache
def schema() -> Mapping[str, Any]:
    """The ``.fluxbot.yaml`` JSON Schema (draft 2020-12)."""
    data: Mapping[str, Any] = json.loads((policies_dir() / "schema.json").read_text("utf-8"))
    return data


@dataclass(frozen=True)
class Preset:
    """One preset file: description, whether it needs the current tag, and its spec template."""

    name: str
    description: str
    relative: bool
    spec: Mapping[str, Any]


@cache
def presets() -> Mapping[str, Preset]:
    """All presets by name (file stem)."""
    yaml = YAML(typ="safe", pure=True)
    out: dict[str, Preset] = {}
    for path in sorted((policies_dir() / "presets").glob("*.yaml")):
        doc = yaml.load(path.read_text("utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
            raise ConfigError(f"{path}: a preset needs a 'spec' mapping")
        out[path.stem] = Preset(
            path.stem, str(doc.get("description", "")), bool(doc.get("relative")), doc["spec"]
        )
    return out


def preset_names() -> tuple[str, ...]:
    """Names configs may use in ``rules[].policy``."""
    return tuple(presets())


def _values(current_tag: str) -> dict[str, str]:
    parsed = parse_tag(current_tag) or parse_version(current_tag)
    values = {"tag_regex": re.escape(current_tag)}
    if parsed is not None:
        base = pysemver.Version(parsed.major, parsed.minor, parsed.patch)
        values.update(
            major=str(base.major),
            minor=str(base.minor),
            patch=str(base.patch),
            next_major=str(base.bump_major().major),
            next_minor=str(base.bump_minor().minor),
            next_patch=str(base.bump_patch().patch),
        )
    return values


def _fill(node: Any, values: Mapping[str, str], name: str, current: str | None) -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, values, name, current) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values, name, current) for v in node]
    if isinstance(node, str):

        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                raise PolicyError(
                    f"preset {name!r} needs a semver current tag, got {current!r}"
                    if current
                    else f"preset {name!r} is relative to the current tag; none was given"
                )
            return values[m.group(1)]

        return _PLACEHOLDER.sub(sub, node)
    return node


def preset_spec(name: str, current_tag: str | None = None) -> dict[str, Any]:
    """A Flux ImagePolicy ``spec`` for preset ``name``, resolved against ``current_tag``."""
    table = presets()
    if name not in table:
        raise PolicyError(f"unknown preset {name!r}; known presets: {', '.join(table)}")
    values = _values(current_tag) if current_tag else {}
    spec: dict[str, Any] = _fill(table[name].spec, values, name, current_tag)
    return spec
