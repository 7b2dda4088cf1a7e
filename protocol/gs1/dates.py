"""GS1 YYMMDD dates and hhmm times (GS1 General Specifications 7.12 and the AI table)."""

from __future__ import annotations

import calendar
from datetime import MAXYEAR, MINYEAR, date, time

from protocol.gs1.errors import BarcodeFault


def full_year(yy: int, *, today: date) -> int:
    """The four-digit year of a two-digit `yy`, in GS1's sliding window around `today`.

    GS1 General Specifications 7.12: with d = yy - (today's two-digit year), d in 51..99 is
    last century, d in -99..-50 is next century, anything else this century. So a label can
    say up to 49 years into the past and 50 into the future.
    """
    century = today.year - today.year % 100
    difference = yy - today.year % 100
    if difference >= 51:
        return century - 100 + yy
    if difference <= -50:
        return century + 100 + yy
    return century + yy


def parse_yymmdd(text: str, *, today: date, day_zero_allowed: bool, ai: str) -> date:
    """Six digits YYMMDD → date. With `day_zero_allowed`, DD=00 means the month's last day.

    AIs 11, 13, 15, 16 and 17 allow DD=00 (shelf-life dates printed to the month); AI 7003
    and the other date-and-time AIs do not.
    """
    yy, month, day = int(text[0:2]), int(text[2:4]), int(text[4:6])
    year = full_year(yy, today=today)
    if not MINYEAR <= year <= MAXYEAR:  # only when `today` is near year 1 or 9999
        raise BarcodeFault("invalid_date", f"AI ({ai}) date {text}: year {year} out of range", ai)
    if not 1 <= month <= 12:
        raise BarcodeFault("invalid_date", f"AI ({ai}) date {text}: month {month:02d}", ai)
    if day == 0 and day_zero_allowed:
        day = calendar.monthrange(year, month)[1]
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise BarcodeFault(
            "invalid_date", f"AI ({ai}) date {text}: {year}-{month:02d} has no day {day:02d}", ai
        )
    return date(year, month, day)


def parse_hhmm(text: str, *, ai: str) -> time:
    """Four digits hhmm (24-hour clock) → time."""
    hour, minute = int(text[0:2]), int(text[2:4])
    if hour > 23 or minute > 59:
        raise BarcodeFault("invalid_date", f"AI ({ai}) time {text} is not a time of day", ai)
    return time(hour, minute)
