"""The openings monitor's settings: working hours, working days and time zone (no Django import).

Read by ``legionary.settings`` at start-up, so that a mistyped value stops the service with one
sentence, and by ``identity.monitor`` for the out-of-hours rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class MonitorSettingError(ValueError):
    """A monitor setting that cannot be read, in one sentence."""


@dataclass(frozen=True)
class WorkingHours:
    """When staff are expected to open sealed data: from ``start`` (inclusive) to ``end``
    (exclusive), local time in ``zone``, on ``days`` (ISO weekdays, 1 = Monday). An end before the
    start is a shift across midnight (20:00-08:00)."""

    start: time
    end: time
    days: frozenset[int]
    zone: ZoneInfo

    @property
    def start_minute(self) -> int:
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        return self.end.hour * 60 + self.end.minute

    def within(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside working hours (the rule the SQL filter applies)."""
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        if local.isoweekday() not in self.days:
            return False
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute

    def describe(self) -> str:
        days = ",".join(str(d) for d in sorted(self.days))
        return f"{self.start:%H:%M}-{self.end:%H:%M} ({self.zone.key}, days {days})"


_HOURS = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_hours(text: str) -> tuple[time, time]:
    """``"08:00-20:00"`` → (08:00, 20:00); start and end must differ."""
    found = _HOURS.match(text)
    if not found:
        raise MonitorSettingError(f"Working hours must read HH:MM-HH:MM, such as 08:00-20:00 (got {text!r}).")
    start = time(int(found[1]), int(found[2]))
    end = time(int(found[3]), int(found[4]))
    if start == end:
        raise MonitorSettingError("Working hours must start and end at different times.")
    return start, end


def _days_message(text: str) -> str:
    return f"Working days are weekday numbers 1-7 (Monday is 1), such as 1-5 (got {text!r})."


def parse_days(text: str) -> frozenset[int]:
    """``"1-5"`` or ``"1,2,3,4,5,6"`` (ISO weekdays, 1 = Monday, 7 = Sunday) → a set of days."""
    days: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        bounds = part.split("-")
        if not part or len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise MonitorSettingError(
                f"Working days are weekday numbers 1-7 (Monday is 1), such as 1-5 (got {text!r})."
            )
        low, high = int(bounds[0]), int(bounds[-1])
        if not 1 <= low <= high <= 7:
            raise MonitorSettingError(
                f"Working days are weekday numbers 1-7 (Monday is 1), such as 1-5 (got {text!r})."
            )
        days.update(range(low, high + 1))
    return frozenset(days)


def parse_zone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise MonitorSettingError(f"Unknown time zone {text!r}; give an IANA name such as Europe/Kyiv.") from None
