"""Support hours of the live agents, with an injectable clock.

Default: Monday-Friday 8:00-20:00 and Saturday 9:00-17:00 Eastern time, closed Sunday.
``SUPPORT_HOURS`` overrides it, e.g. ``"mon-fri 08:00-20:00; sat 09:00-17:00"`` or
``"24/7"``; ``SUPPORT_TIMEZONE`` changes the zone (default ``America/New_York``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Callable, Dict, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_SPEC = "mon-fri 08:00-20:00; sat 09:00-17:00"
DEFAULT_TIMEZONE = "America/New_York"
_PART = re.compile(r"^\s*(mon|tue|wed|thu|fri|sat|sun)(?:\s*-\s*(mon|tue|wed|thu|fri|sat|sun))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_hours(spec: str) -> Dict[int, Tuple[time, time]]:
    """Weekday (0 = Monday) → (opens, closes); raises ValueError naming the bad part."""
    spec = spec.strip().lower()
    if spec in ("24/7", "always"):
        return {day: (time(0, 0), time.max) for day in range(7)}
    hours: Dict[int, Tuple[time, time]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        match = _PART.match(part)
        if not match:
            raise ValueError(f"SUPPORT_HOURS: cannot read {part!r}; write e.g. 'mon-fri 08:00-20:00; sat 09:00-17:00'")
        first, last, h1, m1, h2, m2 = match.groups()
        opens, closes = time(int(h1), int(m1)), time(int(h2), int(m2))
        if closes <= opens:
            raise ValueError(f"SUPPORT_HOURS: {part!r} closes before it opens")
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise ValueError(f"SUPPORT_HOURS: {part!r} has its days backwards")
        for day in range(start, end + 1):
            hours[day] = (opens, closes)
    return hours


@dataclass(frozen=True)
class SupportHours:
    hours: Mapping[int, Tuple[time, time]]
    zone: ZoneInfo
    clock: Clock = utc_now

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, clock: Clock = utc_now) -> "SupportHours":
        return cls(
            parse_hours(environ.get("SUPPORT_HOURS") or DEFAULT_SPEC),
            ZoneInfo(environ.get("SUPPORT_TIMEZONE") or DEFAULT_TIMEZONE),
            clock,
        )

    def local_now(self, now: Optional[datetime] = None) -> datetime:
        now = now or self.clock()
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return now.astimezone(self.zone)

    def is_open(self, now: Optional[datetime] = None) -> bool:
        local = self.local_now(now)
        window = self.hours.get(local.weekday())
        return window is not None and window[0] <= local.time() < window[1]

    def describe(self) -> str:
        return "Monday-Friday 8:00-20:00 ET and Saturday 9:00-17:00 ET (closed Sunday)" if (
            dict(self.hours) == parse_hours(DEFAULT_SPEC) and self.zone.key == DEFAULT_TIMEZONE
        ) else "; ".join(
            f"{DAYS[d].title()} {o:%H:%M}-{c:%H:%M}" for d, (o, c) in sorted(self.hours.items())
        ) + f" ({self.zone.key})"
