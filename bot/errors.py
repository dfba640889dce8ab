"""The contract name of fluxbot's exception tree: DESIGN.md §3 says ``bot.errors.PolicyError``.

The tree itself lives in :mod:`bot.core.errors`; this module only keeps the documented import path.
"""

from bot.core.errors import (
    AuthError,
    BotError,
    ConfigError,
    ForgeError,
    ManifestError,
    PermissionDenied,
    PolicyError,
    RateLimitError,
    ReconcileError,
    RegistryError,
    RenderError,
    UnsafeURLError,
    WebhookError,
)

__all__ = [
    "AuthError",
    "BotError",
    "ConfigError",
    "ForgeError",
    "ManifestError",
    "PermissionDenied",
    "PolicyError",
    "RateLimitError",
    "ReconcileError",
    "RegistryError",
    "RenderError",
    "UnsafeURLError",
    "WebhookError",
]
