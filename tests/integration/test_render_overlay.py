"""Rendering a Flux Kustomization like kustomize-controller, with real kubectl, from small trees.

Covers the generated overlay (targetNamespace, namePrefix/nameSuffix, patches, images,
commonMetadata, components), a path without kustomization.yaml, postBuild substitution with the
opt-out annotation, and the sandbox: load restrictions, no remote bases, timeout and output cap.
"""

from __future__ import annotations

import contextlib
import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.build.render import RenderResult, TreeRenderer
from bot.adapters.proc import build_kustomization, netns_prefix, run
from bot.core.errors import RenderError
from bot.core.flux.graph import FluxGraph
from tests.support.diff_fixtures import require_kubectl

KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: flux-system
spec:
  path: ./app
  sourceRef: {kind: GitRepository, name: flux-system}
"""
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
"""
CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: hello ${WHO:=world}
  cost: $$5
"""


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    require_kubectl()


def render(tree: dict[str, str], label: str = "flux-system/app") -> RenderResult:
    graph = FluxGraph.from_tree(tree)
    node = next(n for n in graph.nodes if n.label == label)
    with TreeRenderer(tree, graph) as side:
        return side.render(node)


def by_kind(result: RenderResult) -> dict[str, Any]:
    assert result.error is None, result.error
    return {o["kind"]: o for o in result.objects}


def test_overlay_fields_applied_like_kustomize_controller() -> None:
    spec = """\
  targetNamespace: prod
  namePrefix: pre-
  nameSuffix: -suf
  images:
    - name: ghcr.io/example/web
      newTag: 2.0.0
  commonMetadata:
    labels: {team: blue}
    annotations: {owner: ops}
  components: [../comp]
  patches:
    - patch: |
        - op: replace
          path: /spec/replicas
          value: 3
      target: {kind: Deployment}
"""
    tree = {
        "clusters/ks.yaml": KS + spec,
        "app/kustomization.yaml": "resources: [deploy.yaml]\n",
        "app/deploy.yaml": DEPLOY,
        "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component\nresources: [cm.yaml]\n",
        "comp/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
    }
    objs = by_kind(render(tree))
    deploy, cm = objs["Deployment"], objs["ConfigMap"]
    assert deploy["metadata"]["name"] == "pre-web-suf" and deploy["metadata"]["namespace"] == "prod"
    assert deploy["spec"]["replicas"] == 3
    assert (
        deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/web:2.0.0"
    )
    assert deploy["metadata"]["labels"]["team"] == "blue"
    assert deploy["metadata"]["annotations"]["owner"] == "ops"
    assert cm["metadata"]["name"] == "pre-extra-suf" and cm["metadata"]["labels"]["team"] == "blue"
    # the overlay was undone: the tree's own kustomization is untouched for the next build
    again = by_kind(render(tree))
    assert again["Deployment"]["metadata"]["name"] == "pre-web-suf"


def test_path_without_kustomization_and_substitution() -> None:
    tree = {
        "clusters/ks.yaml": KS + "  postBuild:\n    substitute: {WHO: flux}\n",
        "app/deploy.yaml": DEPLOY,
        "app/sub/cm.yaml": CM,
        "app/sub/off.yaml": CM.replace(
            "name: settings",
            "name: raw\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled",
        ),
        "app/notes.txt": "not yaml",
    }
    objs = {o["metadata"]["name"]: o for o in render(tree).objects}
    assert set(objs) == {"web", "settings", "raw"}
    assert objs["settings"]["data"] == {"greeting": "hello flux", "cost": "$5"}
    assert objs["raw"]["data"] == {"greeting": "hello ${WHO:=world}", "cost": "$$5"}


def test_no_vars_means_no_substitution() -> None:
    tree = {"clusters/ks.yaml": KS + "  postBuild: {}\n", "app/cm.yaml": CM}
    (cm,) = render(tree).objects
    assert cm["data"]["greeting"] == "hello ${WHO:=world}"


def test_load_restrictions_as_flux_inside_the_repository_never_outside() -> None:
    """LoadRestrictionsNone rooted at the repository: ``../`` files load, the rest is refused."""
    inside = {
        "clusters/ks.yaml": KS,
        "app/kustomization.yaml": "resources: [deploy.yaml]\n"
        "patches:\n  - path: ../shared/replicas.yaml\n",
        "app/deploy.yaml": DEPLOY,
        "shared/replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec: {replicas: 9}\n",
    }
    assert by_kind(render(inside))["Deployment"]["spec"]["replicas"] == 9
    for entry in ("../../etc/hostname", "/etc/hostname"):
        outside = {
            **inside,
            "app/kustomization.yaml": f"resources: [deploy.yaml]\npatches:\n  - path: {entry}\n",
        }
        result = render(outside)
        assert result.objects == ()
        assert result.error == (
            f"app/kustomization.yaml: {entry} is outside the repository "
            "(Flux loads files only from inside the source artifact)"
        )
    generator = {
        **inside,
        "app/kustomization.yaml": (
            "configMapGenerator:\n  - name: x\n    files: [k=../../../etc/passwd]\n"
        ),
    }
    assert "../../../etc/passwd is outside the repository" in str(render(generator).error)


def test_no_remote_bases() -> None:
    remote = {
        "clusters/ks.yaml": KS,
        "app/kustomization.yaml": "resources:\n  - https://github.com/example/repo//base?ref=v1\n",
    }
    result = render(remote)
    assert result.error is not None and result.objects == ()


@contextlib.contextmanager
def loopback_server(hits: list[str]) -> Iterator[str]:
    """A tiny HTTP server on 127.0.0.1 that records every request path; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def test_remote_resources_refused_even_on_loopback() -> None:
    """kustomize's loader fetches http(s) resources itself and Go skips proxies for loopback, so
    a closed proxy is not enough: remote references fail the build before kustomize runs."""
    hits: list[str] = []
    with loopback_server(hits) as url:
        for kustomization in (
            f"resources:\n  - {url}/cm.yaml\n",
            f"resources: [deploy.yaml]\npatches:\n  - path: {url}/patch.yaml\n",
        ):
            tree = {
                "clusters/ks.yaml": KS,
                "app/kustomization.yaml": kustomization,
                "app/deploy.yaml": DEPLOY,
            }
            result = render(tree)
            assert result.error is not None and "remote reference" in result.error
            assert f"{url}/" in result.error and result.objects == ()
    assert hits == []


def test_kustomize_runs_without_network_where_the_host_allows(tmp_path: Path) -> None:
    """Defence in depth below the static check: an empty network namespace for the build."""
    if not netns_prefix():
        pytest.skip("user/network namespaces are not permitted here (static refusal still holds)")
    hits: list[str] = []
    with loopback_server(hits) as url:
        (tmp_path / "kustomization.yaml").write_text(f"resources:\n  - {url}/cm.yaml\n")
        with pytest.raises(RenderError, match="network is unreachable"):
            build_kustomization(tmp_path)
    assert hits == []


def test_exec_and_krm_function_plugins_never_run(tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    for function in (
        "exec:\n        path: ./fn.sh\n",
        "container:\n        image: ghcr.io/example/fn:1\n",
    ):
        tree = {
            "clusters/ks.yaml": KS,
            "app/kustomization.yaml": "resources: [deploy.yaml]\ntransformers: [fn.yaml]\n",
            "app/deploy.yaml": DEPLOY,
            "app/fn.yaml": "apiVersion: example.com/v1\nkind: Fn\nmetadata:\n  name: fn\n"
            "  annotations:\n    config.kubernetes.io/function: |\n      " + function,
            "app/fn.sh": f"#!/bin/sh\ntouch {marker}\ncat\n",
        }
        result = render(tree)
        assert result.error is not None and "plugin" in result.error, result.error
    assert not marker.exists()


def test_missing_path_is_an_error_not_a_crash() -> None:
    result = render({"clusters/ks.yaml": KS.replace("./app", "./nowhere"), "x.yaml": "a: 1\n"})
    assert result.error is not None and "does not exist" in result.error


def test_run_timeout_output_cap_and_stderr() -> None:
    with pytest.raises(RenderError, match=r"timed out after 0\.5s"):
        run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.5)
    with pytest.raises(RenderError, match="output larger than 1000 bytes"):
        run([sys.executable, "-c", "import sys; sys.stdout.write('x' * 5000)"], max_output=1000)
    with pytest.raises(RenderError, match=r"python.* failed: boom"):
        run([sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"])
    assert run([sys.executable, "-c", "print('ok')"]) == b"ok\n"


MERGE_GEN = """\
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: gen, namespace: flux-system}
spec:
  sources: [{alias: repo, kind: GitRepository, name: flux-system}]
  artifacts:
    - name: app
      copy:
        - {from: "@repo/app/**", to: "@artifact/"}
        - {from: "@repo/over/settings.yaml", to: "@artifact/settings.yaml", strategy: Merge}
        - {from: "@repo/charts/*.tgz", to: "@artifact/charts/", strategy: Extract}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  path: ./
  sourceRef: {kind: ExternalArtifact, name: app}
"""


def test_artifact_merge_strategy_renders_the_merged_file() -> None:
    tree = {
        "clusters/gen.yaml": MERGE_GEN,
        "app/settings.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1', b: '2'}\n"
        ),
        "over/settings.yaml": "data: {b: '3'}\nmetadata: {labels: {tier: web}}\n",
    }
    result = render(tree)
    cm = by_kind(result)["ConfigMap"]
    assert cm["data"] == {"a": "1", "b": "3"} and cm["metadata"]["labels"] == {"tier": "web"}
    assert any("Extract" in n and "not rendered" in n for n in result.notes)
