"""Sending windows in the recipient's local time (8:00 to 21:00 by default)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``at`` on ``day`` in ``zone`` as an aware UTC time. A time skipped by a daylight-saving
    change (2:30 on the spring-forward night) means the moment just after the jump (3:30); a
    time that happens twice (1:30 in the autumn) means the first. (PEP 495's fold=0 does both.)"""
    return datetime.combine(day, at).replace(tzinfo=zone).astimezone(UTC)


def is_open(moment: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    local = moment.astimezone(zone).time()
    return start <= local < end


def next_opening(moment: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """``moment`` itself when the window is open then, else when it next opens."""
    if is_open(moment, zone, start, end):
        return moment
    local_day = moment.astimezone(zone).date()
    today_start = local_moment(local_day, start, zone)
    if moment < today_start:
        return today_start
    return local_moment(local_day + timedelta(days=1), start, zone)


def closes_at(moment: datetime, zone: ZoneInfo, end: time) -> datetime:
    """When the window that is open at ``moment`` closes (the same local day's end)."""
    return local_moment(moment.astimezone(zone).date(), end, zone)
