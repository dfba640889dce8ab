"""HelmRelease charts templated with a real helm from a loopback docker-registry (OCI charts)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.build.helm import HelmSettings
from bot.adapters.build.render import RenderSettings
from bot.jobs.preview import PreviewOptions, run_preview
from tests.support.registry_fixtures import RegistryHandle

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "values.yaml": "replicas: 1\nimage: {repository: ghcr.io/example/demo, tag: '0.0.1'}\n",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  annotations:
    checksum/config: {{ .Values | toJson | sha256sum }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers:
        - name: demo
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
""",
    "templates/tests/test.yaml": """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations: {helm.sh/hook: test}
spec:
  containers: [{name: t, image: busybox}]
""",
}

KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  path: ./app
  targetNamespace: web
  sourceRef: {kind: GitRepository, name: flux-system}
"""
APP = {
    "app/kustomization.yaml": "resources: [oci.yaml, hr.yaml, values.yaml]\n",
    "app/oci.yaml": """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: demo}
spec:
  url: oci://{host}/charts/demo
  ref: {tag: 0.1.0}
""",
    "app/values.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: demo-values}
data:
  values.yaml: |
    replicas: 2
""",
    "app/hr.yaml": """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: demo}
spec:
  chartRef: {kind: OCIRepository, name: demo}
  valuesFrom: [{kind: ConfigMap, name: demo-values}]
  values:
    image: {tag: "1.0.0"}
""",
}


def _push(helm: Path, host: str, tmp: Path) -> None:
    chart = tmp / "demo"
    for name, text in CHART.items():
        (chart / name).parent.mkdir(parents=True, exist_ok=True)
        (chart / name).write_text(text)
    env = {"HOME": str(tmp), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [str(helm), "package", str(chart), "-d", str(tmp)],
        check=True,
        env=env,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        [str(helm), "push", str(tmp / "demo-0.1.0.tgz"), f"oci://{host}/charts", "--plain-http"],
        check=True,
        env=env,
        capture_output=True,
        timeout=60,
    )


def _tree(host: str, tag: str) -> dict[str, str]:
    tree = {"clusters/ks.yaml": KS, **{k: v.replace("{host}", host) for k, v in APP.items()}}
    tree["app/hr.yaml"] = tree["app/hr.yaml"].replace('"1.0.0"', f'"{tag}"')
    return tree


def test_chart_rendered_from_oci_registry(
    helm_on_path: Path, registry: RegistryHandle, tmp_path: Path
) -> None:
    _push(helm_on_path, registry.host, tmp_path)
    settings = HelmSettings(
        enabled=True, fetch=True, allow_hosts=("127.0.0.1",), plain_http_hosts=("127.0.0.1",)
    )
    options = PreviewOptions(render=RenderSettings(helm=settings))
    result = run_preview(
        _tree(registry.host, "1.0.0"), _tree(registry.host, "1.1.0"), None, options
    )
    (entry,) = result.kustomizations
    assert entry.base_error is None and entry.head_error is None, entry
    kinds = {(str(c.action), c.key.kind, c.key.namespace, c.key.name) for c in entry.changes}
    # release name: metadata.name (no spec.targetNamespace), namespace from the Kustomization
    assert kinds == {
        ("changed", "HelmRelease", "web", "demo"),
        ("changed", "Deployment", "web", "demo"),
    }
    deploy = next(c for c in entry.changes if c.key.kind == "Deployment")
    assert (
        "-      - image: ghcr.io/example/demo:1.0.0\n+      - image: ghcr.io/example/demo:1.1.0\n"
        in deploy.diff
    )
    assert "checksum/config" not in deploy.diff  # noise stripped
    assert ("ghcr.io/example/demo:1.0.0", "ghcr.io/example/demo:1.1.0") in entry.images
    assert not any("chart not rendered" in n for n in entry.notes)


def test_values_from_and_skip_tests_and_refused_host(
    helm_on_path: Path, registry: RegistryHandle, tmp_path: Path
) -> None:
    _push(helm_on_path, registry.host, tmp_path)
    allowed = HelmSettings(
        enabled=True, fetch=True, allow_hosts=("127.0.0.1",), plain_http_hosts=("127.0.0.1",)
    )
    result = run_preview(
        {}, _tree(registry.host, "1.0.0"), None, PreviewOptions(render=RenderSettings(helm=allowed))
    )
    (entry,) = result.kustomizations
    names = {(c.key.kind, c.key.name) for c in entry.changes}
    assert ("Deployment", "demo") in names and ("Pod", "demo-test") not in names
    deploy = next(c for c in entry.changes if c.key.kind == "Deployment")
    assert "+  replicas: 2\n" in deploy.diff  # from valuesFrom
    refused = run_preview(
        {},
        _tree(registry.host, "1.0.0"),
        None,
        PreviewOptions(render=RenderSettings(helm=HelmSettings(enabled=True, fetch=True))),
    )
    (entry,) = refused.kustomizations
    assert "Deployment" not in {c.key.kind for c in entry.changes}
    assert any("refused" in n and "chart not rendered" in n for n in entry.notes)


def test_remote_charts_are_not_fetched_unless_opted_in(
    helm_on_path: Path, registry: RegistryHandle, tmp_path: Path
) -> None:
    """Untrusted PR content: no network for helm unless ``fetch`` is set (host allowed or not)."""
    _push(helm_on_path, registry.host, tmp_path)
    offline = HelmSettings(
        enabled=True, allow_hosts=("127.0.0.1",), plain_http_hosts=("127.0.0.1",)
    )
    result = run_preview(
        {}, _tree(registry.host, "1.0.0"), None, PreviewOptions(render=RenderSettings(helm=offline))
    )
    (entry,) = result.kustomizations
    assert {c.key.kind for c in entry.changes} == {"HelmRelease", "OCIRepository", "ConfigMap"}
    (note,) = [n for n in entry.notes if "chart not rendered" in n]
    assert "fetching charts over the network is off" in note and "--fetch-charts" in note


def test_chart_failing_on_one_side_is_left_out_on_both(
    helm_on_path: Path, registry: RegistryHandle, tmp_path: Path
) -> None:
    _push(helm_on_path, registry.host, tmp_path)
    allowed = HelmSettings(
        enabled=True, fetch=True, allow_hosts=("127.0.0.1",), plain_http_hosts=("127.0.0.1",)
    )
    base = _tree(registry.host, "1.0.0")
    head = dict(base)
    head["app/oci.yaml"] = head["app/oci.yaml"].replace("tag: 0.1.0", "tag: 9.9.9")
    result = run_preview(base, head, None, PreviewOptions(render=RenderSettings(helm=allowed)))
    (entry,) = result.kustomizations
    assert {(str(c.action), c.key.kind) for c in entry.changes} == {("changed", "OCIRepository")}
    assert any("chart not rendered" in n for n in entry.notes)


def test_in_repo_chart_change_is_rendered(helm_on_path: Path) -> None:
    charts = {f"charts/demo/{name}": text for name, text in CHART.items()}
    hr = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: local}
spec:
  chart:
    spec:
      chart: ./charts/demo
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
"""
    base = {"clusters/ks.yaml": KS, "app/hr.yaml": hr, **charts}
    head = dict(base)
    head["charts/demo/values.yaml"] = base["charts/demo/values.yaml"].replace(
        "replicas: 1", "replicas: 4"
    )
    options = PreviewOptions(render=RenderSettings(helm=HelmSettings(enabled=True)))
    result = run_preview(base, head, None, options)
    (entry,) = result.kustomizations
    assert [(str(c.action), c.key.kind, c.key.name) for c in entry.changes] == [
        ("changed", "Deployment", "local")
    ]
    assert "-  replicas: 1\n+  replicas: 4\n" in entry.changes[0].diff


def test_only_releases_the_change_can_affect_are_templated(
    helm_on_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two releases of one in-repo chart in one Kustomization: a values change of one templates
    only that one (on both sides); a kustomization.yaml change templates both."""
    import bot.adapters.build.render as render_mod

    calls: list[str] = []
    real = render_mod.template_release

    def spy(hr: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(hr["metadata"]["name"])
        return real(hr, *args, **kwargs)

    monkeypatch.setattr(render_mod, "template_release", spy)
    charts = {f"charts/demo/{name}": text for name, text in CHART.items()}
    hr = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: %s}
spec:
  chart:
    spec:
      chart: ./charts/demo
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  values: {replicas: %d}
"""
    base = {
        "clusters/ks.yaml": KS,
        "app/kustomization.yaml": "resources: [one.yaml, two.yaml]\n",
        "app/one.yaml": hr % ("one", 1),
        "app/two.yaml": hr % ("two", 1),
        **charts,
    }
    options = PreviewOptions(render=RenderSettings(helm=HelmSettings(enabled=True)))
    head = {**base, "app/two.yaml": hr % ("two", 5)}
    result = run_preview(base, head, None, options)
    assert sorted(calls) == ["two", "two"]  # base and head, "one" left alone
    (entry,) = result.kustomizations
    assert {(c.key.kind, c.key.name) for c in entry.changes} == {
        ("HelmRelease", "two"),
        ("Deployment", "two"),
    }
    calls.clear()
    head = {**base, "app/kustomization.yaml": "resources: [one.yaml, two.yaml]\nnamePrefix: x-\n"}
    result = run_preview(base, head, None, options)
    assert sorted(calls) == ["one", "two", "x-one", "x-two"]
    (entry,) = result.kustomizations
    assert ("Deployment", "x-one") in {(c.key.kind, c.key.name) for c in entry.changes}


def test_in_repo_chart_through_helm_chart_and_repository_found_by_url(helm_on_path: Path) -> None:
    """chartRef → HelmChart → this repository's GitRepository (named by URL, not bootstrap)."""
    charts = {f"charts/demo/{name}": text for name, text in CHART.items()}
    sources = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: home, namespace: flux-system}
spec: {url: "https://github.com/acme/home.git"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: demo}
spec:
  chart: ./charts/demo
  sourceRef: {kind: GitRepository, name: home, namespace: flux-system}
"""
    hr = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: viaref}
spec:
  chartRef: {kind: HelmChart, name: demo}
  values: {replicas: %d}
"""
    base = {
        "clusters/ks.yaml": KS,
        "app/kustomization.yaml": "resources: [sources.yaml, hr.yaml]\n",
        "app/sources.yaml": sources,
        "app/hr.yaml": hr % 1,
        **charts,
    }
    head = {**base, "app/hr.yaml": hr % 3}
    options = PreviewOptions(
        render=RenderSettings(helm=HelmSettings(enabled=True)),
        repo_urls=("git@github.com:acme/home",),
    )
    result = run_preview(base, head, None, options)
    (entry,) = result.kustomizations
    assert not any("chart not rendered" in n for n in entry.notes), entry.notes
    deploy = next(c for c in entry.changes if c.key.kind == "Deployment")
    assert "-  replicas: 1\n+  replicas: 3\n" in deploy.diff
    # a change to the chart's files alone is seen through the HelmChart too
    head = {
        **base,
        "charts/demo/values.yaml": CHART["values.yaml"].replace("tag: '0.0.1'", "tag: '0.0.2'"),
    }
    result = run_preview(base, head, None, options)
    (entry,) = result.kustomizations
    assert [(c.key.kind, c.key.name) for c in entry.changes] == [("Deployment", "viaref")]
    assert ("ghcr.io/example/demo:0.0.1", "ghcr.io/example/demo:0.0.2") in entry.images
