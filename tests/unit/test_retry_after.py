"""One ``Retry-After`` rule (``bot.core.http.retry_after``) for GitHub, GitLab and registries.

Regression test of issue 11: three parsers gave three answers (GitHub waited 60 s on an
HTTP-date, the registry ignored ``1.5``, GitLab raised ``OverflowError`` on ``inf``).
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.github.api import SECONDARY_WAIT, retry_delay
from bot.adapters.gitlab.client import RateBudget
from bot.core.errors import RateLimitError
from bot.core.http import retry_after

NOW = 1000.0  # epoch seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-5", 0.0),  # in the past: retry now
        ("Thu, 01 Jan 1970 00:17:00 GMT", 20.0),  # 1020 s after the epoch
        ("Thu, 01 Jan 1970 00:17:00 -0000", 20.0),
        ("Thu, 01 Jan 1970 00:00:01 GMT", 0.0),
        ("inf", None),
        ("-inf", None),
        ("nan", None),
        ("1e999", None),
        ("soon", None),
        ("Thu, 99 Foo 99999 99:99:99 GMT", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after(value, NOW) == seconds


@given(st.text(max_size=40))
def test_any_text_is_a_finite_wait_or_none(value: str) -> None:
    got = retry_after(value, NOW)
    assert got is None or 0.0 <= got < float("inf")


def test_the_adapters_agree() -> None:
    date = datetime.datetime.fromtimestamp(NOW + 30, datetime.UTC)
    http_date = date.strftime("%a, %d %b %Y %H:%M:%S GMT")
    # GitHub: an HTTP-date is honoured (it used to fall back to the one-minute wait)
    assert retry_delay(429, {"retry-after": http_date}, "", now=NOW) == 30.0
    assert retry_delay(429, {"retry-after": "1.5"}, "", now=NOW) == 1.5
    assert retry_delay(429, {"retry-after": "inf"}, "", now=NOW) == SECONDARY_WAIT
    # GitLab: inf is no OverflowError; a far date is refused past max_wait
    budget = RateBudget(max_wait=60, clock=lambda: NOW, sleep=lambda s: None)
    budget.observe(429, {"Retry-After": "inf"})
    with pytest.raises(RateLimitError):
        budget.observe(429, {"Retry-After": "Thu, 01 Jan 1970 01:00:00 GMT"})
