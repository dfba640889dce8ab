"""structlog configuration: JSON-ish key/value logs on stderr, with secrets redacted.

Entry points call :func:`configure` once. Every event passes through :func:`redact`, which blanks
values of keys that look like credentials, so a token put in a log by mistake never reaches output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEY = re.compile(r"(token|secret|password|passwd|authorization|private_key|auth)$", re.I)


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the value of every credential-looking key with ``***``."""
    for key in list(event):
        if _SECRET_KEY.search(key):
            event[key] = "***"
    return event


def configure(debug: bool = False, quiet: bool = False) -> None:
    """Route structlog to stderr at INFO (DEBUG with ``debug``; WARNING with ``quiet``, for
    interactive commands whose retries are noise unless asked for with ``-v``)."""
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            redact,
            # plain tracebacks: rich's default shows every frame's locals (PR trees, secrets)
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A bound structlog logger named for its module."""
    return structlog.get_logger(name)
