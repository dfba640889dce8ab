"""Renderers: kustomize builds and helm templates of Flux objects, run as subprocesses."""
