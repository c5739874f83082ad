"""The time, as Textdesk's rules see it.

Lock leases and their expiry are decided with this clock so that tests (and the browser tests'
live server, which shares the process) can move time forward instead of sleeping.
"""

from datetime import datetime, timedelta

from django.utils import timezone

_offset = timedelta(0)


def now() -> datetime:
    return timezone.now() + _offset


def advance(seconds: float) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += timedelta(seconds=seconds)


def reset() -> None:
    global _offset
    _offset = timedelta(0)
