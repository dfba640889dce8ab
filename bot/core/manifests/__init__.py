"""Image references in manifests: find them, and edit them without disturbing another byte.

- :mod:`~bot.core.manifests.yamlload`: fast position-aware YAML (libyaml events), hard limits.
- :mod:`~bot.core.manifests.sites`: the data table of where references live.
- :mod:`~bot.core.manifests.scan`: :func:`~bot.core.manifests.scan.scan` a tree into
  :class:`~bot.core.manifests.refs.ImageRef` values with exact spans.
- :mod:`~bot.core.manifests.setters`: Flux ``$imagepolicy`` markers (DESIGN.md §3 contract).
- :mod:`~bot.core.manifests.edits`: splice new tags/digests at the spans, verified by a re-scan.
"""
