"""Image references in manifests: find them, and edit them without disturbing another byte.

- :mod:`~bot.manifests.yamlload`: fast position-aware YAML (libyaml events), hard limits.
- :mod:`~bot.manifests.sites`: the data table of where references live.
- :mod:`~bot.manifests.scan`: :func:`~bot.manifests.scan.scan` a tree into
  :class:`~bot.manifests.refs.ImageRef` values with exact spans.
- :mod:`~bot.manifests.setters`: Flux ``$imagepolicy`` markers (DESIGN.md §3 contract).
- :mod:`~bot.manifests.edits`: splice new tags/digests at the spans, verified by a re-scan.
"""
