"""fluxbot's one exception tree.

Every error the bot raises on purpose derives from :class:`BotError`; entry points catch it, print
one line (no traceback unless ``--debug``) and exit 1. Messages never contain a credential.

    BotError
    ├── ConfigError        bad ``.fluxbot.yaml``, bad flags or environment
    ├── PolicyError        invalid policy, or no tag qualifies (also a ValueError)
    ├── RegistryError      registry refused, failed or answered garbage
    │   ├── AuthError          credentials missing or rejected
    │   ├── RateLimitError     registry or forge said "slow down" and we gave up
    │   └── UnsafeURLError     URL refused by the SSRF guard (plain HTTP, private address)
    ├── ManifestError      YAML that cannot be read or edited safely (names file and document)
    ├── RenderError        kustomize/helm build failed, timed out or produced too much
    ├── ForgeError         GitHub/GitLab/local git refused or failed
    │   └── PermissionDenied   actor lacks write access
    ├── WebhookError       forged, malformed or oversized delivery
    └── ReconcileError     Flux Receiver or Kubernetes API call failed
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error fluxbot raises deliberately."""


class ConfigError(BotError):
    """Configuration (file, flags, environment) is invalid."""


class PolicyError(BotError, ValueError):
    """A policy is invalid, or no tag satisfies it."""


class RegistryError(BotError):
    """A container registry request failed or returned something unusable."""


class AuthError(RegistryError):
    """Registry credentials are missing or were rejected."""


class RateLimitError(RegistryError):
    """A rate limit was reached and waiting longer is not allowed."""


class UnsafeURLError(RegistryError):
    """A URL was refused by the SSRF guard (plain HTTP or a non-public address)."""


class ManifestError(BotError):
    """A manifest cannot be parsed or edited safely."""


class RenderError(BotError):
    """Rendering Kubernetes objects (kustomize, helm) failed."""


class ForgeError(BotError):
    """A forge (GitHub, GitLab, local git) operation failed."""


class PermissionDenied(ForgeError):
    """The acting user lacks the permission a command needs."""


class WebhookError(BotError):
    """A webhook delivery is forged, malformed or too large."""


class ReconcileError(BotError):
    """Asking Flux to reconcile, or watching the rollout, failed."""
