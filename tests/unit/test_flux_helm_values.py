"""HelmRelease values as helm-controller merges them: valuesFrom in order, targetPath typed."""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.build.helm import HelmSkip, _set_path, release_values, typed_value
from bot.core.flux.objects import FluxObjects


def _cm(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def _hr(values_from: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "app", "namespace": "web"},
        "spec": {"valuesFrom": values_from, "values": values},
    }


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("true", True),
        ("FALSE", False),
        ("null", None),
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("007", "007"),  # a leading zero keeps it a string (strvals)
        ("1.5", "1.5"),  # strvals has no floats
        ('"42"', "42"),
        ("'true'", "true"),
        ("v1.2.3", "v1.2.3"),
        ("99999999999999999999", "99999999999999999999"),  # beyond int64
    ],
)
def test_target_path_values_are_typed_like_helm_set(raw: str, want: Any) -> None:
    assert typed_value(raw) == want and type(typed_value(raw)) is type(want)


def test_target_path_segments_indexes_and_escaped_dots() -> None:
    values: dict[str, Any] = {"a": {"keep": 1}}
    _set_path(values, "a.b", "2")
    _set_path(values, "list[1].x", "y")
    _set_path(values, "ingress.annotations.nginx\\.io/ssl", "true")
    assert values == {
        "a": {"keep": 1, "b": 2},
        "list": [None, {"x": "y"}],
        "ingress": {"annotations": {"nginx.io/ssl": True}},
    }
    with pytest.raises(HelmSkip, match="comma"):
        _set_path(values, "a.c", "x,y")


def test_values_from_order_target_path_and_inline_values_last() -> None:
    scope = [
        _cm("base", {"values.yaml": "replicas: 1\nimage: {tag: '1.0'}\nlist: [a, b]\n"}),
        _cm("over", {"values.yaml": "replicas: 2\nlist: [c]\n"}),
        _cm("flat", {"count": "3", "enabled": "false", "name": "'007'"}),
    ]
    hr = _hr(
        [
            {"kind": "ConfigMap", "name": "base"},
            {"kind": "ConfigMap", "name": "over"},
            {"kind": "ConfigMap", "name": "flat", "valuesKey": "count", "targetPath": "replicas"},
            {"kind": "ConfigMap", "name": "flat", "valuesKey": "enabled", "targetPath": "x.on"},
            {"kind": "ConfigMap", "name": "flat", "valuesKey": "name", "targetPath": "x.name"},
            {"kind": "ConfigMap", "name": "gone", "optional": True},
        ],
        {"image": {"repository": "r"}},
    )
    values, notes = release_values(hr, scope, FluxObjects())
    assert values == {
        "replicas": 3,
        "image": {"tag": "1.0", "repository": "r"},
        "list": ["c"],  # lists are replaced, not merged
        "x": {"on": False, "name": "007"},
    }
    assert notes == []
