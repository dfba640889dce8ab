"""A tiny Flux repository (bootstrap GitRepository, two Kustomizations) for reconcile tests."""

from __future__ import annotations

TREE: dict[str, str] = {
    "clusters/prod/flux-system/gotk-sync.yaml": """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  ref:
    branch: main
  url: https://github.com/owner/repo
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m
  path: ./clusters/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
    "clusters/prod/apps.yaml": """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
    "apps/kustomization.yaml": "resources:\n  - deploy.yaml\n",
    "apps/deploy.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web\n          image: ghcr.io/o/web:1.0.0\n"
    ),
}

DEPLOY = "apps/deploy.yaml"


def fluxbot_config(reconcile: str) -> dict[str, str]:
    """A ``.fluxbot.yaml`` with the given (indented YAML) ``reconcile:`` section."""
    return {".fluxbot.yaml": "reconcile:\n" + reconcile}
