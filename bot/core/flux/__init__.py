"""Flux objects, the Kustomization graph, rendering and the object diff."""
