from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def dict_get(mapping: dict, key):
    return mapping.get(key, [])


@register.filter
def duration_words(duration: timedelta) -> str:
    """3 h 20 min; 45 min; 50 s; 2 days 4 h."""
    seconds = max(int(duration.total_seconds()), 0)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s" if minutes < 10 and seconds else f"{minutes} min"
    return f"{seconds} s"
