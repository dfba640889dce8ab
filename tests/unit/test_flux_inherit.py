"""A child Kustomization as its parent's build produces it: patches, namespace, variables."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from bot.core.flux.inherit import (
    apply_patches,
    effective_child,
    json6902,
    merge_patch,
    resolve_vars,
    target_matches,
)
from bot.core.flux.objects import Kustomization, parse_tree
from bot.core.manifests.yamlload import load_documents

CHILD = {
    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
    "kind": "Kustomization",
    "metadata": {"name": "web", "labels": {"tier": "apps"}},
    "spec": {
        "path": "./web",
        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        "interval": "${INTERVAL:=1h}",
    },
}


def test_merge_patch_rfc7386() -> None:
    assert merge_patch({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2], "b": None}, "d": 1}) == {
        "a": {"c": [2]},
        "d": 1,
    }


def test_json6902_ops() -> None:
    doc = {"spec": {"args": ["a"], "x": 1}}
    out = json6902(
        doc,
        [
            {"op": "add", "path": "/spec/args/-", "value": "b"},
            {"op": "replace", "path": "/spec/x", "value": 2},
            {"op": "remove", "path": "/spec/args/0"},
        ],
    )
    assert out == {"spec": {"args": ["b"], "x": 2}} and doc == {"spec": {"args": ["a"], "x": 1}}


# RFC 6902 Appendix A (examples A.1-A.16, the ones kustomize's evanphx/json-patch also passes).
RFC6902_OK = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    (
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    (
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    (
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    (
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
]


@pytest.mark.parametrize(("doc", "ops", "want"), RFC6902_OK)
def test_json6902_rfc_examples(doc: Any, ops: list[dict[str, Any]], want: Any) -> None:
    before = copy.deepcopy(doc)
    assert json6902(doc, ops) == want
    assert doc == before  # a copy is patched


@pytest.mark.parametrize(
    ("doc", "ops"),
    [
        ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),  # A.9
        ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),  # A.12
        ({"foo": "bar"}, [{"op": "frobnicate", "path": "/foo"}]),
        ({"foo": "bar"}, [{"op": "replace", "path": "/nope", "value": 1}]),
    ],
)
def test_json6902_refuses(doc: Any, ops: list[dict[str, Any]]) -> None:
    with pytest.raises(ValueError):
        json6902(doc, ops)


def test_target_matching() -> None:
    assert target_matches({"group": "kustomize.toolkit.fluxcd.io", "kind": "Kustomization"}, CHILD)
    assert target_matches({"kind": "Kustomization", "name": "w.*"}, CHILD)
    assert not target_matches({"kind": "Kustomization", "name": "w"}, CHILD)  # anchored regex
    assert target_matches({"labelSelector": "tier=apps"}, CHILD)
    assert not target_matches({"labelSelector": "tier!=apps"}, CHILD)
    assert target_matches({"labelSelector": "tier in (apps)"}, CHILD) is None


def test_apply_strategic_and_json_patches() -> None:
    patches = [
        {
            "patch": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
            "metadata: {name: _}\nspec: {wait: true}\n",
            "target": {"kind": "Kustomization"},
        },
        {
            "patch": "- op: add\n  path: /spec/timeout\n  value: 5m\n",
            "target": {"kind": "Kustomization", "name": "web"},
        },
        {"patch": "- op: add\n  path: /spec/force\n  value: true\n", "target": {"kind": "Other"}},
    ]
    out, notes = apply_patches(CHILD, patches, load_documents)
    assert out["spec"]["wait"] is True and out["spec"]["timeout"] == "5m"
    assert "force" not in out["spec"] and out["metadata"]["name"] == "web" and notes == []


def test_effective_child_gets_parent_namespace_patches_and_vars() -> None:
    tree = {
        "vars.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: flux-system}\n"
        f"data: {{INTERVAL: {base64.b64encode(b'30m').decode()}}}\n",
        "parent.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\nspec:\n  path: ./\n"
        "  sourceRef: {kind: GitRepository, name: flux-system}\n  targetNamespace: team\n"
        "  postBuild: {substituteFrom: [{kind: Secret, name: s}, {kind: ConfigMap, name: gone}]}\n"
        "  patches:\n    - patch: '[{op: add, path: /spec/prune, value: true}]'\n"
        "      target: {kind: Kustomization}\n",
    }
    objects = parse_tree(tree)
    parent = objects.kustomizations[0]
    child = Kustomization.parse(CHILD, "web/ks.yaml", 0, "")
    doc, notes = effective_child(child, parent, objects, load_documents)
    assert doc["metadata"]["namespace"] == "team"
    assert doc["spec"]["prune"] is True and doc["spec"]["interval"] == "30m"
    assert notes == ["substituteFrom ConfigMap/gone is not in the repository"]
    variables, _ = resolve_vars(parent.raw, "flux-system", objects)
    assert variables == {"INTERVAL": "30m"}
