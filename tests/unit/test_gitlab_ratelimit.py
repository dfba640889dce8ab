"""The GitLab rate budget: ``RateLimit-*`` recorded, spent budget waited for, long waits refused.

Pure: the clock and the sleep are injected (no thread, no network).
"""

from __future__ import annotations

import pytest

from bot.adapters.gitlab.client import RateBudget, retry_after_seconds
from bot.core.errors import RateLimitError
from tests.support.clock import FakeClock


def budget(max_wait: float = 60.0) -> tuple[RateBudget, FakeClock]:
    clock = FakeClock()
    return RateBudget(max_wait=max_wait, clock=clock, sleep=clock.sleep_sync), clock


def test_no_headers_no_wait() -> None:
    b, clock = budget()
    b.observe(200, {})
    b.pause()
    assert clock.slept == []


def test_remaining_budget_no_wait() -> None:
    b, clock = budget()
    b.observe(200, {"RateLimit-Remaining": "3", "RateLimit-Reset": "1030"})
    b.pause()
    assert clock.slept == []


def test_spent_budget_waits_until_reset_once() -> None:
    b, clock = budget()
    b.observe(200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "1012"})
    b.pause()
    assert clock.slept == [12.0]
    b.pause()  # the reset has passed: no second wait
    assert clock.slept == [12.0] and b.waited == 12.0


def test_spent_budget_with_reset_beyond_max_wait_fails_fast() -> None:
    b, clock = budget(max_wait=5)
    b.observe(200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "1600"})
    with pytest.raises(RateLimitError, match="resets in 600s"):
        b.pause()
    assert clock.slept == []


@pytest.mark.parametrize("retry_after", ["10", "30"])
def test_429_retry_after_within_bound_is_left_to_python_gitlab(retry_after: str) -> None:
    b, clock = budget(max_wait=30)
    b.observe(429, {"Retry-After": retry_after})  # accepted: python-gitlab sleeps and retries
    b.pause()
    assert clock.slept == [] and b.waited == 0.0  # the budget does not wait a second time
    with pytest.raises(RateLimitError, match="exceeds 30s"):  # the bound is the one in force
        b.observe(429, {"Retry-After": "31"})


@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "3600"}, {"RateLimit-Reset": "9999", "RateLimit-Remaining": "0"}],
)
def test_429_with_long_wait_refused(headers: dict[str, str]) -> None:
    b, _ = budget(max_wait=30)
    with pytest.raises(RateLimitError, match="exceeds 30s"):
        b.observe(429, headers)


def test_garbage_headers_ignored() -> None:
    b, clock = budget()
    b.observe(200, {"RateLimit-Remaining": "many", "RateLimit-Reset": "soon"})
    b.pause()
    assert clock.slept == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7),
        (" 7 ", 7),
        ("1.2", 2),
        ("inf", None),
        ("-5", 0),
        ("Thu, 01 Jan 1970 00:17:00 GMT", 20),  # 1020 s after the epoch; now is 1000
        ("Thu, 01 Jan 1970 00:17:00 -0000", 20),
        ("Thu, 01 Jan 1970 00:00:01 GMT", 0),  # in the past: retry now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds_or_http_date(value: str | None, seconds: int | None) -> None:
    assert retry_after_seconds(value, 1000.0) == seconds


def test_429_with_a_far_http_date_refused() -> None:
    b, _ = budget(max_wait=30)
    with pytest.raises(RateLimitError, match="retry after 3600s"):
        b.observe(429, {"Retry-After": "Thu, 01 Jan 1970 01:16:40 GMT"})  # 4600 - 1000
