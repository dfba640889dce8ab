"""A fake clock for code that takes ``clock`` and ``sleep`` parameters: time moves only by sleeping.

t = FakeClock()
client = RegistryClient(clock=t.clock, sleep=t.sleep)       # async sleep
budget = RateBudget(clock=t, sleep=t.sleep_sync)            # a thread's blocking sleep
assert t.slept == [3.0]
"""

from __future__ import annotations


class FakeClock:
    """Starts at ``start`` seconds; every sleep is recorded in :attr:`slept` and advances it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def clock(self) -> float:
        return self.now

    def sleep_sync(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleep_sync(seconds)
