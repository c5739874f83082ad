"""An event's answers over time, drawn as inline SVG on the server (no script, nothing from a
CDN): how many were confirmed, declined and waitlisted at the end of each hour (or day).

The numbers are *standing* totals, not new answers: someone who confirms and later declines
moves from one line to the other, so the last point of each line is the tally."""

import math
import zoneinfo
from datetime import datetime, timedelta

from django.utils import dateformat

from textdesk.events.models import Invitation

Status = Invitation.Status
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 26, 26
MAX_X_LABELS = 6
MAX_BUCKETS = 60
# Up to this span the chart goes by the hour; beyond it, by the day.
HOURLY_UP_TO = timedelta(hours=48)
SERIES = [  # status, label, colour (the stylesheet's ok, error and warn colours)
    (Status.CONFIRMED, "Confirmed", "#067647"),
    (Status.DECLINED, "Declined", "#b42318"),
    (Status.WAITLISTED, "Waitlisted", "#b54708"),
]


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (as the send
    report's chart scales its bars)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover


def buckets_for(
    first: datetime, last: datetime, zone: zoneinfo.ZoneInfo
) -> tuple[list[datetime], list[datetime], str]:
    """The buckets covering ``first`` to ``last`` as (starts, ends, what each is), on round
    times of the team's clock: hours for a short span, else days (several at once past
    MAX_BUCKETS days)."""
    local = first.astimezone(zone)
    if last - first <= HOURLY_UP_TO:
        start = local.replace(minute=0, second=0, microsecond=0)
        hours = max(math.ceil((last - start).total_seconds() / 3600), 1)
        starts = [start + timedelta(hours=h) for h in range(hours + 1)]
        return starts[:-1], starts[1:], "hour"
    days = (last.astimezone(zone).date() - local.date()).days + 1
    step = math.ceil(days / MAX_BUCKETS)
    # Midnights built from dates: a day with a clock change is still one day.
    starts = [
        datetime.combine(local.date() + timedelta(days=d), datetime.min.time(), tzinfo=zone)
        for d in range(0, days + step, step)
    ]
    return starts[:-1], starts[1:], "day" if step == 1 else f"{step} days"


def standing(
    changes: list[tuple[int, str, datetime]], ends: list[datetime]
) -> list[dict[str, int]]:
    """For each moment of ``ends``, how many invitations stood at each status just before it."""
    current: dict[int, str] = {}
    counts: dict[str, int] = {}
    found = []
    position = 0
    for end in ends:
        while position < len(changes) and changes[position][2] < end:
            invitation_id, status, _ = changes[position]
            before = current.get(invitation_id)
            if before is not None:
                counts[before] -= 1
            counts[status] = counts.get(status, 0) + 1
            current[invitation_id] = status
            position += 1
        found.append(dict(counts))
    return found


def _label(moment: datetime, hourly: bool, zone: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return dateformat.format(local, "M j, g a" if hourly else "M j")


def chart(
    changes: list[tuple[int, str, datetime]], until: datetime, zone: zoneinfo.ZoneInfo
) -> dict | None:
    """Where each line goes in the SVG, from the first answer to ``until`` (now, or the end
    of an event that is over); None before the first answer."""
    answers = [c for c in changes if c[1] in {s for s, _, _ in SERIES}]
    if not answers:
        return None
    first = answers[0][2]
    starts, ends, each = buckets_for(first, max(changes[-1][2], until), zone)
    hourly = each == "hour"
    points = standing(changes, ends)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    top = _nice_ceiling(max(max(p.get(s, 0) for s, _, _ in SERIES) for p in points))
    slot = plot_width / len(starts)

    def x(index: int) -> float:
        return LEFT + (index + 1) * slot  # each bucket's value stands at its end

    def y(value: int) -> float:
        return baseline - value / top * plot_height

    series = []
    for status, label, colour in SERIES:
        values = [p.get(status, 0) for p in points]
        line = [f"{LEFT:.1f},{baseline:.1f}"] + [
            f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values)
        ]
        series.append(
            {
                "name": status,
                "label": label,
                "colour": colour,
                "points": " ".join(line),
                "last": values[-1],
            }
        )
    buckets = []
    for i, point in enumerate(points):
        counts = ", ".join(f"{point.get(s, 0):,} {label.lower()}" for s, label, _ in SERIES)
        buckets.append(
            {
                "x": f"{LEFT + i * slot:.1f}",
                "width": f"{slot:.1f}",
                "title": f"By {_label(ends[i], hourly, zone)}: {counts}",
            }
        )
    every = max(1, math.ceil(len(starts) / MAX_X_LABELS))
    # Each label names the end of its bucket, under the point; the last one ends at the
    # right edge rather than running off it.
    x_labels = [
        {
            "x": f"{x(i):.1f}",
            "text": _label(ends[i], hourly, zone),
            "anchor": "end" if i == len(starts) - 1 else "middle",
        }
        for i in reversed(range(len(starts) - 1, -1, -every))
    ]
    y_labels = [
        {"y": f"{baseline - fraction * plot_height:.1f}", "text": f"{round(top * fraction):,}"}
        for fraction in (0, 0.5, 1)
        if fraction == 0 or top * fraction == int(top * fraction)
    ]
    legend = [
        {"x": LEFT + k * 110, "label": label, "colour": colour}
        for k, (_, label, colour) in enumerate(SERIES)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "plot_height": plot_height,
        "baseline": f"{baseline:.1f}",
        "label_y": HEIGHT - 8,
        "series": series,
        "buckets": buckets,
        "x_labels": x_labels,
        "y_labels": y_labels,
        "legend": legend,
        "each": each,
        "summary": (
            f"Confirmed, declined and waitlisted at the end of each {each}, from "
            f"{_label(starts[0], hourly, zone)} to {_label(ends[-1], hourly, zone)}: "
            + ", ".join(f"{s['last']:,} {s['label'].lower()}" for s in series)
            + " now."
        ),
    }
