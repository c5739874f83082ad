"""Time zone names. ``zoneinfo.available_timezones()`` walks the tz database on disk at every
call (milliseconds each): fine once, ruinous once per contact of a 100,000-contact send."""

import zoneinfo
from functools import cache


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: str) -> bool:
    return name in known_zones()
