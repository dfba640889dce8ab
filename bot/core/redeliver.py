"""Which failed GitHub App webhook deliveries to redeliver (pure).

GitHub lists deliveries newest first (``GET /app/hook/deliveries``), one row per attempt; a
delivery (its ``guid``) needs redelivering when no attempt of it succeeded. One redelivery per
guid, of its newest failed attempt, within the ``since`` window:

    >>> rows = [{"id": 2, "guid": "g", "status_code": 503, "delivered_at": "2026-12-08T01:00:00Z"}]
    >>> [d.id for d in to_redeliver(rows, cutoff=0.0)]
    [2]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Delivery", "parse_duration", "to_redeliver"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``, ``"1h30m"`` → seconds; ValueError otherwise."""
    parts = re.findall(r"(\d+)([smhd])", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration like 30m, 2h or 1d: {text!r}")
    return float(sum(int(n) * _UNITS[u] for n, u in parts))


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt as GitHub lists it."""

    id: int
    guid: str
    status_code: int
    delivered_at: float  # epoch seconds
    event: str = ""

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> Delivery:
        stamp = str(row.get("delivered_at") or "").replace("Z", "+00:00")
        return cls(
            int(row["id"]),
            str(row.get("guid") or ""),
            int(row.get("status_code") or 0),
            datetime.fromisoformat(stamp).timestamp() if stamp else 0.0,
            str(row.get("event") or ""),
        )

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def to_redeliver(rows: Iterable[Mapping[str, Any]], cutoff: float) -> list[Delivery]:
    """The newest failed attempt of every guid delivered at or after ``cutoff`` that never
    succeeded, in the order GitHub listed them."""
    deliveries = [Delivery.from_api(r) for r in rows]
    succeeded = {d.guid for d in deliveries if d.ok}
    chosen: dict[str, Delivery] = {}
    for d in deliveries:
        if d.delivered_at >= cutoff and not d.ok and d.guid not in succeeded:
            chosen.setdefault(d.guid, d)
    return list(chosen.values())
