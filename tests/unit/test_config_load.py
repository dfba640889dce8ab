"""``.fluxbot.yaml``: schema validation messages, defaults, rule lookup, presets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.config import Config, check_config, load_config, split_image
from bot.core.errors import ConfigError, PolicyError
from bot.core.policy import latest
from bot.core.policy.presets import policies_dir, preset_names, preset_spec, schema

FULL = """
version: 1
policies:
  backend:
    policy: {semver: {range: ">=1.0.0 <2"}}
  nightly:
    filterTags: {pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$', extract: '$ts'}
    policy: {numerical: {order: asc}}
rules:
  - images: ["ghcr.io/org/legacy-*"]
    ignore: true
  - images: ["ghcr.io/org/*"]
    paths: ["apps/staging/*"]
    policy: nightly
  - images: ["ghcr.io/org/*"]
    policy: backend
  - images: ["docker.io/library/*"]
    policy: patch-only
detect: {enabled: false}
exclude: {paths: ["infra/*"], images: ["quay.io/*"]}
group: kustomization
pr:
  labels: [deps]
  reviewers: [alice]
  commitMessage: "bump {image} to {new}"
  maxOpen: 3
registries:
  insecure: ["127.0.0.1:5000"]
  exclusionList: ['\\.att$']
reconcile: {receivers: [{name: flux-system}]}
"""


def test_full_config_loads() -> None:
    cfg = load_config(FULL)
    assert cfg.group == "kustomization" and cfg.detect is False
    assert cfg.pr.labels == ("deps",) and cfg.pr.max_open == 3 and cfg.pr.max_per_hour == 5
    assert (
        cfg.pr.commit_message == "bump {image} to {new}" and cfg.pr.title == cfg.pr.commit_message
    )
    assert cfg.insecure_registries == ("127.0.0.1:5000",)
    assert cfg.exclusion_list == (r"\.att$",)
    assert cfg.reconcile["receivers"][0]["name"] == "flux-system"


def test_policy_for_first_rule_wins() -> None:
    cfg = load_config(FULL)
    assert cfg.policy_for("ghcr.io/org/legacy-api") is None  # ignored
    name, spec = cfg.policy_for("ghcr.io/org/api:1.0.0", "apps/staging/deploy.yaml") or ("", {})
    assert name == "nightly" and spec["policy"] == {"numerical": {"order": "asc"}}
    name, spec = cfg.policy_for("ghcr.io/org/api", "apps/prod/deploy.yaml") or ("", {})
    assert name == "backend"
    assert latest(spec, ["1.2.0", "2.0.0"]) == "1.2.0"
    spec["policy"] = {}  # callers get a copy
    assert cfg.policy_for("ghcr.io/org/api") == (
        "backend",
        {"policy": {"semver": {"range": ">=1.0.0 <2"}}},
    )
    assert cfg.policy_for("quay.io/x/y") is None  # excluded image
    assert cfg.policy_for("ghcr.io/org/api", "infra/x.yaml") is None  # excluded path
    assert cfg.policy_for("example.com/other") is None  # no rule


def test_relative_preset_uses_the_current_tag() -> None:
    cfg = load_config(FULL)
    name, spec = cfg.policy_for("docker.io/library/redis:7.2.4") or ("", {})
    assert name == "patch-only"
    assert spec["policy"]["semver"]["range"] == ">=7.2.4 <7.3.0"
    assert latest(spec, ["7.2.3", "7.2.9", "7.3.0", "8.0.0"]) == "7.2.9"
    with pytest.raises(PolicyError, match="relative to the current tag"):
        cfg.policy_for("docker.io/library/redis")
    spec2 = (cfg.policy_for("docker.io/library/redis", current_tag="v1.0.0") or ("", {}))[1]
    assert spec2["policy"]["semver"]["range"] == ">=1.0.0 <1.1.0"


def test_missing_file_means_defaults() -> None:
    assert load_config(None) == Config.default()
    assert load_config("") == Config.default()
    cfg = Config.default()
    assert cfg.group == "image" and cfg.detect and cfg.exclusion_list is None
    assert cfg.pr.max_open == 10 and cfg.pr.max_per_hour == 5


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("group: everything", "$.group: 'everything' is not one of"),
        ("rules: [{images: []}]", "$.rules[0].images"),
        ("rules: [{images: ['a/*']}]", "$.rules[0]: 'policy' is a required property"),
        (
            "rules: [{images: ['a/*'], policy: nope}]",
            "$.rules[0].policy: unknown policy or preset 'nope'",
        ),
        ("policies: {p: {policy: {semver: {range: '>>1'}}}}", "$.policies.p: semver range '>>1'"),
        ("policies: {p: {policy: {alphabetical: {}, numerical: {}}}}", "$.policies.p.policy"),
        (
            "policies: {p: {policy: {alphabetical: {order: ASC}}}}",
            "$.policies.p.policy.alphabetical.order",
        ),
        ("policies: {p: {policy: {semver: {range: '*'}}, filterTags: {pattern: '(?=a)'}}}", "RE2"),
        ("policies: {stable: {policy: {semver: {range: '*'}}}}", "shadows the built-in preset"),
        ("pr: {maxOpen: -1}", "$.pr.maxOpen"),
        ("unknown: 1", "Additional properties are not allowed ('unknown'"),
        ("registries: {exclusionList: ['(?!x)']}", "$.registries.exclusionList[0]"),
        ("registries: {insecure: ['http://x']}", "$.registries.insecure[0]"),
        ("- a list", "$: ['a list'] is not of type 'object'"),
    ],
)
def test_problems_name_file_path_and_problem(text: str, needle: str) -> None:
    problems = check_config(text, "repo/.fluxbot.yaml")
    assert problems, text
    assert all(p.startswith("repo/.fluxbot.yaml: $") for p in problems)
    assert any(needle in p for p in problems), problems
    with pytest.raises(ConfigError, match=r"repo/\.fluxbot\.yaml"):
        load_config(text, "repo/.fluxbot.yaml")


def test_yaml_errors_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config("a: [1, 2", "x.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config("group: image\ngroup: all\n", "x.yaml")  # duplicate keys


def test_all_problems_are_reported() -> None:
    problems = check_config("group: x\npr: {maxOpen: -1}\n")
    assert len(problems) == 2


def test_split_image() -> None:
    assert split_image("ghcr.io/org/app:1.2") == ("ghcr.io/org/app", "1.2")
    assert split_image("localhost:5000/app") == ("localhost:5000/app", None)
    assert split_image("app@sha256:abc") == ("app", None)


def test_presets_are_valid_policies() -> None:
    assert set(preset_names()) == {"stable", "patch-only", "minor-only", "calver", "digest"}
    assert latest(preset_spec("stable"), ["1.0.0", "2.0.0-rc.1", "1.5.0"]) == "1.5.0"
    assert latest(preset_spec("minor-only", "1.4.2"), ["1.9.0", "2.0.0", "1.4.1"]) == "1.9.0"
    assert (
        latest(preset_spec("calver"), ["2024.01.15", "2024.1.9", "2023.12.31", "latest"])
        == "2024.01.15"
    )
    assert latest(preset_spec("digest", "latest"), ["latest", "latest-alpine", "v1"]) == "latest"
    assert preset_spec("digest", "1.0")["digestReflectionPolicy"] == "Always"
    with pytest.raises(PolicyError, match="unknown preset"):
        preset_spec("yolo")
    with pytest.raises(PolicyError, match="semver current tag"):
        preset_spec("patch-only", "latest")


def test_schema_is_the_shipped_file() -> None:
    path = policies_dir() / "schema.json"
    assert json.loads(path.read_text()) == schema()
    assert schema()["$schema"].endswith("2020-12/schema")
    assert (Path(__file__).resolve().parents[2] / "policies") == policies_dir()


def test_one_message_per_mistake() -> None:
    # the schema's complaint is not repeated by the policy check of the same policy
    problems = check_config("policies: {p: {policy: {semver: {range: 1.2}}}}\n", "c.yaml")
    assert problems == ["c.yaml: $.policies.p.policy.semver.range: 1.2 is not of type 'string'"]
    problems = check_config("policies: {p: {policy: {alphabetical: {order: up}}}}\n", "c.yaml")
    assert len(problems) == 1 and "$.policies.p.policy.alphabetical.order" in problems[0]


def test_a_bad_pattern_and_a_bad_range_are_both_reported() -> None:
    text = (
        "policies:\n"
        "  p:\n"
        "    filterTags: {pattern: '(a)\\1', extract: '$1'}\n"
        "    policy: {semver: {range: '>=1 <'}}\n"
        "  q:\n"
        "    filterTags: {pattern: '(?=x)'}\n"
        "    policy: {alphabetical: {order: up}}\n"
    )
    problems = check_config(text, "c.yaml")
    assert len(problems) == 4, problems
    assert any(p.startswith("c.yaml: $.policies.p.filterTags.pattern: ") for p in problems)
    assert any(p.startswith("c.yaml: $.policies.p: semver range '>=1 <'") for p in problems)
    assert any(p.startswith("c.yaml: $.policies.q.filterTags.pattern: ") for p in problems)
    assert any(p.startswith("c.yaml: $.policies.q.policy.alphabetical.order") for p in problems)


def test_a_filter_typo_does_not_hide_a_bad_range() -> None:
    text = "policies: {p: {filterTags: {patern: x}, policy: {semver: {range: '>>1'}}}}\n"
    problems = check_config(text, "c.yaml")
    assert len(problems) == 2, problems
    assert "c.yaml: $.policies.p.filterTags: Additional properties" in problems[0]
    assert problems[1].startswith("c.yaml: $.policies.p: semver range '>>1'")
