"""The repository configuration ``.fluxbot.yaml``: parsing, validation, and policy lookup (pure).

Takes text, never reads the repository itself; the schema and presets come from
``policies/`` via :mod:`bot.core.policy.presets`.

    >>> cfg = load_config("rules: [{images: ['ghcr.io/org/*'], policy: stable}]")
    >>> cfg.policy_for("ghcr.io/org/app")[0]
    'stable'

Validation reports every problem as ``<file>: <JSON path>: <problem>``; names of policies or
presets that do not exist, and policies Flux would reject (bad range, bad regex), are errors too.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.core.errors import ConfigError, PolicyError
from bot.core.policy import Policy, gosyntax
from bot.core.policy.presets import preset_names, preset_spec, schema

__all__ = [
    "DEFAULT_COMMIT_MESSAGE",
    "Config",
    "PullRequests",
    "Rule",
    "check_config",
    "load_config",
]

DEFAULT_COMMIT_MESSAGE = "chore(deps): update {image} to {new}"


@dataclass(frozen=True)
class Rule:
    """``rules[]``: images (and optionally paths) to a policy name, or ignore."""

    images: tuple[str, ...]
    policy: str | None = None
    ignore: bool = False
    paths: tuple[str, ...] = ()

    def applies(self, image: str, path: str | None) -> bool:
        """True when ``image`` (name without tag) and ``path`` (if the rule has paths) match."""
        if not any(fnmatch.fnmatchcase(image, g) for g in self.images):
            return False
        if not self.paths:
            return True
        return path is not None and any(fnmatch.fnmatchcase(path, g) for g in self.paths)


@dataclass(frozen=True)
class PullRequests:
    """``pr``: how fluxbot opens pull requests."""

    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    commit_message: str = DEFAULT_COMMIT_MESSAGE
    title: str = DEFAULT_COMMIT_MESSAGE
    max_open: int = 10
    max_per_hour: int = 5


_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Config:
    """A validated ``.fluxbot.yaml`` (or the defaults when there is none)."""

    source: str = ".fluxbot.yaml"
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)
    rules: tuple[Rule, ...] = ()
    detect: bool = True
    exclude_paths: tuple[str, ...] = ()
    exclude_images: tuple[str, ...] = ()
    exclude_kinds: tuple[str, ...] = ()  # "Kind" or "group/Kind" globs; "compose" for compose
    group: str = "image"
    pr: PullRequests = PullRequests()
    insecure_registries: tuple[str, ...] = ()
    exclusion_list: tuple[str, ...] | None = None  # None: Flux's default ["^.*\\.sig$"]
    reconcile: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    diff: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # flux-diff previews

    @classmethod
    def default(cls) -> Config:
        """The configuration of a repository without ``.fluxbot.yaml``."""
        return cls()

    def excluded(self, image: str, path: str | None = None) -> bool:
        """True when ``exclude.images``/``exclude.paths`` rule the reference out."""
        name = split_image(image)[0]
        if any(fnmatch.fnmatchcase(name, g) for g in self.exclude_images):
            return True
        return path is not None and any(fnmatch.fnmatchcase(path, g) for g in self.exclude_paths)

    def excluded_kind(self, kind: str | None) -> bool:
        """True when ``exclude.kinds`` rules out objects of ``kind`` (``group/Kind`` or
        ``Kind``; a glob matches either spelling)."""
        if kind is None or not self.exclude_kinds:
            return False
        short = kind.rsplit("/", 1)[-1]
        return any(
            fnmatch.fnmatchcase(kind, g) or fnmatch.fnmatchcase(short, g)
            for g in self.exclude_kinds
        )

    def policy_for(
        self, image: str, path: str | None = None, current_tag: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """``(name, Flux spec)`` of the first matching rule; None if excluded, ignored or unmatched.

        ``image`` may carry its tag (``repo:tag``); it is the current tag for the relative
        presets unless ``current_tag`` is given.
        """
        name, tag = split_image(image)
        if self.excluded(name, path):
            return None
        for rule in self.rules:
            if not rule.applies(name, path):
                continue
            if rule.ignore or rule.policy is None:
                return None
            if rule.policy in self.policies:
                return rule.policy, _thaw(self.policies[rule.policy])
            return rule.policy, preset_spec(rule.policy, current_tag or tag)
        return None


def split_image(image: str) -> tuple[str, str | None]:
    """``("host/repo", "tag")`` from ``host/repo:tag`` (digest suffixes dropped)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, None


def _thaw(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _thaw(v) for k, v in node.items()}
    if isinstance(node, tuple | list):
        return [_thaw(v) for v in node]
    return node


def _freeze(node: Any) -> Any:
    if isinstance(node, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in node.items()})
    if isinstance(node, list | tuple):
        return tuple(_freeze(v) for v in node)
    return node


def _json_path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _parse_yaml(text: str, source: str) -> Any:
    yaml = YAML(typ="safe", pure=True)
    try:
        return yaml.load(text)
    except YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{source}: not valid YAML: {detail}") from None


def check_config(text: str, source: str = ".fluxbot.yaml") -> list[str]:
    """Every problem in ``text`` as ``<source>: <JSON path>: <problem>``; empty when valid."""
    data = _parse_yaml(text, source)
    if data is None:
        return []
    import jsonschema  # type: ignore[import-untyped,unused-ignore]  # 90 ms: only with a config

    validator = jsonschema.Draft202012Validator(schema())
    problems = []
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for err in errors:
        problems.append(f"{source}: {_json_path(err.absolute_path)}: {err.message}")
    if isinstance(data, dict):
        # a policy choice the schema already faulted is not checked again (one message per
        # mistake): errors at $.policies.<name> itself or under $.policies.<name>.policy
        faulted = {
            str(path[1])
            for path in (list(e.absolute_path) for e in errors)
            if len(path) > 1 and path[0] == "policies" and path[2:3] in ([], ["policy"])
        }
        problems += _semantic_problems(data, source, faulted)
    return problems


def _semantic_problems(data: dict[str, Any], source: str, faulted: set[str]) -> list[str]:
    """What the schema cannot say: unknown names, ranges and regexes Flux would reject."""
    problems: list[str] = []
    presets = set(preset_names())
    policies = data.get("policies")
    policies = policies if isinstance(policies, dict) else {}
    for name, spec in policies.items():
        if name in presets:
            problems.append(f"{source}: $.policies.{name}: shadows the built-in preset {name!r}")
        filt = spec.get("filterTags") if isinstance(spec, dict) else None
        pattern = filt.get("pattern") if isinstance(filt, dict) else None
        if isinstance(pattern, str):  # reported even when the policy part is wrong too
            try:
                gosyntax.compile_pattern(pattern)
            except PolicyError as exc:
                problems.append(f"{source}: $.policies.{name}.filterTags.pattern: {exc}")
        if str(name) in faulted or not isinstance(spec, dict):
            continue
        try:
            Policy.from_spec({"policy": spec.get("policy")})
        except PolicyError as exc:
            problems.append(f"{source}: $.policies.{name}: {exc}")
    rules = data.get("rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        ref = rule.get("policy") if isinstance(rule, dict) else None
        if isinstance(ref, str) and ref not in policies and ref not in presets:
            known = ", ".join(sorted(set(policies) | presets))
            problems.append(
                f"{source}: $.rules[{i}].policy: unknown policy or preset {ref!r} (known: {known})"
            )
    registries = data.get("registries")
    exclusion = registries.get("exclusionList") if isinstance(registries, dict) else None
    for i, pattern in enumerate(exclusion if isinstance(exclusion, list) else []):
        if not isinstance(pattern, str):
            continue
        try:
            gosyntax.compile_pattern(pattern)
        except PolicyError as exc:
            problems.append(f"{source}: $.registries.exclusionList[{i}]: {exc}")
    return problems


def load_config(text: str | None, source: str = ".fluxbot.yaml") -> Config:
    """Parse and validate ``.fluxbot.yaml`` text (None: the file is absent, defaults apply)."""
    if text is None:
        return Config.default()
    problems = check_config(text, source)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more)
    data = _parse_yaml(text, source) or {}
    pr = data.get("pr") or {}
    exclude = data.get("exclude") or {}
    registries = data.get("registries") or {}
    exclusion = registries.get("exclusionList")
    return Config(
        source=source,
        policies=_freeze(data.get("policies") or {}),
        rules=tuple(
            Rule(
                images=tuple(r["images"]),
                policy=r.get("policy"),
                ignore=bool(r.get("ignore", False)),
                paths=tuple(r.get("paths") or ()),
            )
            for r in data.get("rules") or ()
        ),
        detect=bool((data.get("detect") or {}).get("enabled", True)),
        exclude_paths=tuple(exclude.get("paths") or ()),
        exclude_images=tuple(exclude.get("images") or ()),
        exclude_kinds=tuple(exclude.get("kinds") or ()),
        group=data.get("group", "image"),
        pr=PullRequests(
            labels=tuple(pr.get("labels") or ()),
            reviewers=tuple(pr.get("reviewers") or ()),
            assignees=tuple(pr.get("assignees") or ()),
            commit_message=pr.get("commitMessage", DEFAULT_COMMIT_MESSAGE),
            title=pr.get("title", pr.get("commitMessage", DEFAULT_COMMIT_MESSAGE)),
            max_open=int(pr.get("maxOpen", 10)),
            max_per_hour=int(pr.get("maxPerHour", 5)),
        ),
        insecure_registries=tuple(registries.get("insecure") or ()),
        exclusion_list=None if exclusion is None else tuple(exclusion),
        reconcile=_freeze(data.get("reconcile") or {}),
        diff=_freeze(data.get("diff") or {}),
    )
