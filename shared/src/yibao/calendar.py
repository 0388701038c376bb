"""The bureau's calendar: dates and periods are China Standard Time, whatever offset a POS sent.

A sale at 01:00 in Beijing sent as `17:00Z` belongs to the Beijing day, for expiry checks,
days of supply and monthly periods alike.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BUREAU_TZ = ZoneInfo("Asia/Shanghai")


def bureau_time(moment: datetime) -> datetime:
    """The same instant on the bureau's clock."""
    return moment.astimezone(BUREAU_TZ)


def bureau_date(moment: datetime) -> date:
    """The bureau's calendar day of an instant."""
    return bureau_time(moment).date()


def bureau_period(moment: datetime) -> str:
    """The monthly period (`2026-10`) an instant falls in."""
    return bureau_time(moment).strftime("%Y-%m")
