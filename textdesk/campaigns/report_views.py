"""A send's report: live progress, totals, a chart over time, every recipient and a CSV of
them; pause, resume and cancel; and the header's indicator of sends in progress.

Views parse, check access (a send whose inbox the user may not see is a 404, as if it did not
exist) and call the actions; the numbers come from report.py.
"""

import csv
import io
import math
import re
import zoneinfo
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from textdesk.campaigns import actions, report
from textdesk.campaigns.models import Send
from textdesk.campaigns.review import eta
from textdesk.compliance import audit
from textdesk.contacts.export import safe_cell

CSV_CHUNK = 2000
CSV_COLUMNS = [
    "number",
    "name",
    "status",
    "error_code",
    "error",
    "sent_at",
    "delivered_at",
    "replied",
]
E164 = re.compile(r"\+\d{1,15}")


def _send(request: HttpRequest, send_id: int) -> Send:
    """The send (404 unless the user may see its inbox); times show in its team's zone."""
    send = report.get_send_or_404(request.user, send_id)
    timezone.activate(report.team_zone(send))
    return send


# --- The chart ----------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT = 720, 220
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 44, 8, 26, 26
MAX_X_LABELS = 6
SERIES = [  # name, label, colour (the stylesheet's accent, ok and warn colours)
    ("sent", "Sent", "#2451c7"),
    ("delivered", "Delivered", "#067647"),
    ("replies", "Replies", "#b54708"),
]


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value``."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover


def _when(moment, minutes: int, zone: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(zone)
    if minutes >= 1440:
        return dateformat.format(local, "M j")
    return dateformat.format(local, "M j, g:i a")


def _short(moment, minutes: int, span_days: bool, zone: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(zone)
    if minutes >= 1440:
        return dateformat.format(local, "M j")
    return dateformat.format(local, "M j, g:i a" if span_days else "g:i a")


def chart(buckets: list[report.Bucket], zone: zoneinfo.ZoneInfo) -> dict | None:
    """Where each bar goes in the SVG: one group of three bars (sent, delivered, replies) per
    bucket, scaled to the highest bar, with a few time labels underneath."""
    if not buckets:
        return None
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot_height
    top = _nice_ceiling(max(b.peak for b in buckets))
    slot = plot_width / len(buckets)
    bar = slot * 0.8 / len(SERIES)
    minutes = buckets[0].minutes
    span_days = buckets[0].start.astimezone(zone).date() != buckets[-1].end.astimezone(zone).date()
    groups = []
    for i, bucket in enumerate(buckets):
        left = CHART_LEFT + i * slot + slot * 0.1
        bars = []
        for j, (name, _label, colour) in enumerate(SERIES):
            value = getattr(bucket, name)
            height = value / top * plot_height
            bars.append(
                {
                    "x": f"{left + j * bar:.1f}",
                    "y": f"{baseline - height:.1f}",
                    "width": f"{max(bar - 0.5, 0.5):.1f}",
                    "height": f"{height:.1f}",
                    "name": name,
                    "colour": colour,
                    "value": value,
                }
            )
        title = (
            f"{_when(bucket.start, minutes, zone)}: {bucket.sent:,} sent, "
            f"{bucket.delivered:,} delivered, {bucket.replies:,} "
            f"repl{'y' if bucket.replies == 1 else 'ies'}"
        )
        groups.append({"bars": bars, "title": title, "start": bucket.start})
    every = max(1, math.ceil(len(buckets) / MAX_X_LABELS))
    x_labels = [
        {
            "x": f"{CHART_LEFT + i * slot + slot / 2:.1f}",
            "text": _short(buckets[i].start, minutes, span_days, zone),
        }
        for i in range(0, len(buckets), every)
    ]
    y_labels = [
        {"y": f"{baseline - fraction * plot_height:.1f}", "text": f"{round(top * fraction):,}"}
        for fraction in (0, 0.5, 1)
        if fraction == 0 or top * fraction == int(top * fraction)
    ]
    legend = [
        {"x": CHART_LEFT + k * 110, "label": label, "colour": colour}
        for k, (_, label, colour) in enumerate(SERIES)
    ]
    if minutes % 1440 == 0:
        each = f"{minutes // 1440} day{'s' if minutes > 1440 else ''}"
    elif minutes % 60 == 0:
        each = f"{minutes // 60} hour{'s' if minutes > 60 else ''}"
    else:
        each = f"{minutes} minute{'s' if minutes > 1 else ''}"
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "baseline": f"{baseline:.1f}",
        "label_y": CHART_HEIGHT - 8,
        "groups": groups,
        "x_labels": x_labels,
        "y_labels": y_labels,
        "legend": legend,
        "each": each,
        "summary": (
            f"Texts sent, delivered and replies received per {each}, from "
            f"{_when(buckets[0].start, minutes, zone)} to {_when(buckets[-1].end, minutes, zone)}."
        ),
    }


# --- Pages --------------------------------------------------------------------------------


def _progress_context(send: Send) -> dict:
    zone = report.team_zone(send)
    finish = eta(send) if send.status == Send.Status.SENDING else None
    return {
        "send": send,
        "totals": report.totals(send),
        "eta": finish,
        "eta_soon": finish is not None and finish - timezone.now() < timedelta(minutes=1),
        "chart": chart(report.timeline(send, zone=zone), zone),
        "can_pause": send.status == Send.Status.SENDING,
        "can_resume": send.status == Send.Status.PAUSED,
        "can_cancel": send.status
        in (Send.Status.SCHEDULED, Send.Status.SENDING, Send.Status.PAUSED),
    }


@require_GET
@login_required
def send_report(request: HttpRequest, send_id: int) -> HttpResponse:
    send = _send(request, send_id)
    status_filter = report.parse_filter(request.GET.get("status"))
    context = _progress_context(send) | {
        "inbox": send.inbox,
        "status_filter": status_filter,
        "status_filters": report.STATUS_FILTERS,
        "rows": report.recipient_rows(send, status_filter, request.GET.get("page")),
    }
    return render(request, "campaigns/send_report.html", context)


@require_GET
@login_required
def send_progress(request: HttpRequest, send_id: int) -> HttpResponse:
    """The live part of the report, re-fetched when the send's progress is announced."""
    send = _send(request, send_id)
    return render(request, "campaigns/_send_progress.html", _progress_context(send))


@require_GET
@login_required
def airplane(request: HttpRequest) -> HttpResponse:
    """The header's list of sends in progress, re-fetched on every send event."""
    return render(request, "campaigns/_airplane.html", {"sends": report.active_sends(request.user)})


def _back(request: HttpRequest, send: Send) -> HttpResponse:
    url = reverse("send_report", args=[send.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _switch(request: HttpRequest, send_id: int, action, done: str, nothing: str) -> HttpResponse:
    send = report.get_send_or_404(request.user, send_id)
    try:
        if action(request.user, send):
            messages.success(request, done)
        else:
            messages.info(request, nothing)
    except actions.SendRefused as e:
        messages.error(request, str(e))
    return _back(request, send)


@require_POST
@login_required
def send_pause(request: HttpRequest, send_id: int) -> HttpResponse:
    return _switch(
        request,
        send_id,
        actions.pause_send,
        "Paused: nothing more goes out until you resume it.",
        "It was not sending, so there was nothing to pause.",
    )


@require_POST
@login_required
def send_resume(request: HttpRequest, send_id: int) -> HttpResponse:
    return _switch(
        request,
        send_id,
        actions.resume_send,
        "Resumed: sending where it stopped.",
        "It was not paused, so there was nothing to resume.",
    )


@require_POST
@login_required
def send_cancel(request: HttpRequest, send_id: int) -> HttpResponse:
    send = report.get_send_or_404(request.user, send_id)
    try:
        withdrawn = actions.cancel_send(request.user, send)
    except actions.SendRefused as e:
        messages.error(request, str(e))
    else:
        messages.success(
            request,
            f"Cancelled: {withdrawn:,} text{'' if withdrawn == 1 else 's'} not sent yet "
            f"{'was' if withdrawn == 1 else 'were'} withdrawn.",
        )
    return _back(request, send)


# --- CSV ----------------------------------------------------------------------------------


def _line(values: Iterable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _csv_values(row: report.RecipientRow, zone: zoneinfo.ZoneInfo) -> list[str]:
    def when(moment) -> str:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    # An E.164 number is safe as it is (and importable again); anything else may be a formula.
    number = row.phone if E164.fullmatch(row.phone) else safe_cell(row.phone)
    cells = [row.name, row.status, row.error_code, row.error]
    return [
        number,
        *(safe_cell(str(cell)) for cell in cells),
        when(row.sent_at),
        when(row.delivered_at),
        "yes" if row.replied else "no",
    ]


async def recipient_lines(send: Send, status_filter: str) -> AsyncIterator[str]:
    """The CSV, a chunk of rows at a time: a big send never sits in memory at once."""
    zone = report.team_zone(send)
    yield _line(CSV_COLUMNS)
    after: tuple[int, int] | None = (0, 0)
    while after is not None:
        rows, after = await sync_to_async(report.recipient_chunk)(
            send, status_filter, after, CSV_CHUNK
        )
        if rows:
            yield "".join(_line(_csv_values(row, zone)) for row in rows)


@require_GET
@login_required
def send_csv(request: HttpRequest, send_id: int) -> HttpResponse:
    """Every recipient (or those of one filter, ``?status=``) with what happened, as CSV."""
    send = report.get_send_or_404(request.user, send_id)
    status_filter = report.parse_filter(request.GET.get("status"))
    with transaction.atomic():
        # Phone numbers leave Textdesk: say who took them. (An action's job; see the report.)
        audit.record(
            "send.exported",
            actor=request.user,
            inbox_id=send.inbox_id,
            send_id=send.pk,
            status=status_filter,
        )
    response = StreamingHttpResponse(
        recipient_lines(send, status_filter), content_type="text/csv; charset=utf-8"
    )
    filename = f"send-{send.pk}-{slugify(send.name)[:60] or 'recipients'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
