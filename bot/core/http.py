"""HTTP rules every adapter shares; pure. The one owner of ``Retry-After`` (RFC 9110 §10.2.3).

>>> retry_after("3", now=0.0)
3.0
>>> retry_after("Thu, 01 Jan 1970 00:00:30 GMT", now=10.0)
20.0
>>> retry_after("inf", now=0.0) is None
True
"""

from __future__ import annotations

import math


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date, ``now``
    being epoch seconds. A date or a number in the past means 0 (retry now); a value that is
    neither, or not finite (``inf``, ``nan``, ``1e999``), is None: the caller's own backoff
    applies. The caller caps the wait."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _http_date(text, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _http_date(text: str, now: float) -> float | None:
    import email.utils  # only for HTTP-date values: ~10 ms of start-up otherwise

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        import datetime

        when = when.replace(tzinfo=datetime.UTC)
    try:
        return max(0.0, when.timestamp() - now)
    except (OverflowError, OSError, ValueError):
        return None
