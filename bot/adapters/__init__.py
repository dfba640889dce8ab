"""Thin I/O at the edges: registries, forges, renderers, subprocesses, stores and queues."""
