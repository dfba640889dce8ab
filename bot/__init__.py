"""fluxbot: a GitOps image-update bot for Flux CD.

Layers (see DESIGN.md §2): a pure core (``policy``, ``manifests``, ``flux`` objects and diff,
``commands``, ``events``, ``dispatch``, ``render``) that does no I/O, thin adapters at the edges
(``registry``, ``forges``, ``kustomize``, ``reconcile``, ``store``) and ``jobs`` where they meet.
"""

__version__ = "0.1.0"
