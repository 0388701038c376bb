"""When the scheduled monthly run is due: the previous month, from a day of the month on."""

from __future__ import annotations

from datetime import date


def scheduled_period(today: date, run_day: int) -> str | None:
    """The period to issue on `today` (the month before), or None before `run_day`.

    Settlement data of a month keeps arriving for a few days (late uploads, reviews), so the
    bureau's schedule waits until `run_day` of the next month (a policy parameter).
    """
    if today.day < run_day:
        return None
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    return f"{year}-{month:02d}"
