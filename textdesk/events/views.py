"""The event pages: the list, the form, the event with its live tallies, chart and
invitations, staff answers, the CSV and follow-up texts.

Views parse, check access (an event whose inbox the user may not see is a 404, as if it did
not exist) and call the actions; the numbers come from queries.py and chart.py."""

import csv
import io
import re
import zoneinfo
from collections.abc import AsyncIterator, Iterable
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from textdesk.accounts.models import Team
from textdesk.contacts.export import safe_cell
from textdesk.contacts.queries import get_team_or_404
from textdesk.core import clock
from textdesk.events import actions, chart, queries, rsvp
from textdesk.events.forms import EventForm
from textdesk.events.models import Event, Invitation

CSV_CHUNK = 2000
CSV_COLUMNS = ["phone", "first_name", "last_name", "status", "answered_at", "invited_at", "consent"]
E164 = re.compile(r"\+\d{1,15}")


def _zone(team: Team) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(team.time_zone)


def _event(request: HttpRequest, team_id: int, event_id: int) -> Event:
    """The event (404 unless the user is on its team and may see its inbox); times show in
    the team's zone."""
    team = get_team_or_404(request.user, team_id)
    event = queries.get_event_or_404(request.user, team, event_id)
    timezone.activate(_zone(team))
    return event


def _compose_url(event: Event, body: str, segment_id: int | None = None) -> str:
    params: dict[str, str | int] = {"inbox": event.inbox_id}
    if segment_id is not None:
        params["segments"] = segment_id
    params["event"] = event.pk
    params["body"] = body
    return reverse("compose") + "?" + urlencode(params)


# --- The list and the form ----------------------------------------------------------------


@require_GET
@login_required
def event_list(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    timezone.activate(_zone(team))
    upcoming, past = queries.events_with_tallies(request.user, team, clock.now())
    context = {"team": team, "upcoming": upcoming, "past": past}
    return render(request, "events/list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def event_form(request: HttpRequest, team_id: int, event_id: int | None = None) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    event = queries.get_event_or_404(request.user, team, event_id) if event_id else None
    timezone.activate(_zone(team))
    form = EventForm(
        request.POST if request.method == "POST" else None,
        instance=event or Event(team=team),
        team=team,
        user=request.user,
    )
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if event is None:
                event = actions.create_event(request.user, team, fields)
            else:
                event = actions.update_event(request.user, event, fields)
        except actions.EventRefused as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, f"Saved {event.name}.")
            return redirect("event", team_id=team.pk, event_id=event.pk)
    context = {"team": team, "event": event, "form": form, "zone": team.time_zone}
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "events/edit.html", context, status=status)


# --- The event page -----------------------------------------------------------------------


def _tallies_context(event: Event) -> dict:
    tallies = queries.tallies(event)
    until = min(clock.now(), event.ends_at)
    return {
        "event": event,
        "team": event.team,
        "tallies": tallies,
        "over_capacity": tallies.over_capacity(event.capacity),
        "chart": chart.chart(queries.changes(event), until, _zone(event.team)),
    }


@require_GET
@login_required
def event_page(request: HttpRequest, team_id: int, event_id: int) -> HttpResponse:
    event = _event(request, team_id, event_id)
    status_filter = queries.parse_filter(request.GET.get("status"))
    rows = queries.invitation_page(event, status_filter, request.GET.get("page"))
    context = _tallies_context(event)
    tallies = context["tallies"]
    sizes = {
        Invitation.Status.INVITED: tallies.no_answer,
        Invitation.Status.CONFIRMED: tallies.confirmed,
        Invitation.Status.DECLINED: tallies.declined,
        Invitation.Status.WAITLISTED: tallies.waitlisted,
    }
    follow_ups = [
        {"group": group, "label": label, "size": sizes[group]}
        for group, label in queries.FOLLOW_UP_GROUPS.items()
    ]
    context |= {
        "status_filter": status_filter,
        "status_filters": queries.STATUS_FILTERS,
        "rows": rows,
        "page_number": rows.number,
        "staff_statuses": [(s.value, s.label) for s in rsvp.STAFF_STATUSES],
        "follow_ups": follow_ups,
        "invite_url": _compose_url(event, queries.suggested_text(event, Invitation.Status.INVITED)),
    }
    return render(request, "events/detail.html", context)


@require_GET
@login_required
def event_tallies(request: HttpRequest, team_id: int, event_id: int) -> HttpResponse:
    """The live part of the page, re-fetched when an answer to the event is announced."""
    event = _event(request, team_id, event_id)
    return render(request, "events/_tallies.html", _tallies_context(event))


def _back(event: Event, status_filter: str, page: str) -> HttpResponse:
    url = reverse("event", args=[event.team_id, event.pk])
    query = {"status": status_filter} if status_filter != "all" else {}
    if page.isdecimal() and page != "1":
        query["page"] = page
    return redirect(url + ("?" + urlencode(query) if query else ""))


@require_POST
@login_required
def invitation_set(
    request: HttpRequest, team_id: int, event_id: int, invitation_id: int
) -> HttpResponse:
    """Staff set an answer by hand (a phone call, a reply in other words)."""
    event = _event(request, team_id, event_id)
    invitation = queries.get_invitation_or_404(event, invitation_id)
    status = request.POST.get("status", "")
    if status not in Invitation.Status.values:
        messages.error(request, "Choose an answer.")
    else:
        try:
            rsvp.answer(
                invitation,
                yes=status == Invitation.Status.CONFIRMED,
                actor=request.user,
                status=status,
            )
        except rsvp.RsvpRefused as e:
            messages.error(request, str(e))
        else:
            messages.success(request, f"Set to {Invitation.Status(status).label.lower()}.")
    return _back(
        event,
        queries.parse_filter(request.POST.get("filter")),
        request.POST.get("page", ""),
    )


@require_POST
@login_required
def event_follow_up(request: HttpRequest, team_id: int, event_id: int) -> HttpResponse:
    """A static list of one group (no answer, confirmed, ...), then compose, ready to text it."""
    event = _event(request, team_id, event_id)
    group = request.POST.get("group", "")
    try:
        segment = actions.follow_up_segment(request.user, event, group)
    except actions.EventRefused as e:
        messages.error(request, str(e))
        return redirect("event", team_id=event.team_id, event_id=event.pk)
    return redirect(_compose_url(event, queries.suggested_text(event, group), segment.pk))


# --- CSV ----------------------------------------------------------------------------------


def _line(values: Iterable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _csv_values(invitation: Invitation, zone: zoneinfo.ZoneInfo) -> list[str]:
    def when(moment) -> str:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    contact = invitation.contact
    # An E.164 number is safe as it is (and importable again); anything else may be a formula.
    phone = contact.phone if E164.fullmatch(contact.phone) else safe_cell(contact.phone)
    return [
        phone,
        safe_cell(contact.first_name),
        safe_cell(contact.last_name),
        invitation.status,
        when(invitation.answered_at),
        when(invitation.invited_at),
        contact.consent,
    ]


async def invitation_lines(event: Event, status_filter: str) -> AsyncIterator[str]:
    """The CSV, a chunk of rows at a time: a big event never sits in memory at once."""
    zone = _zone(event.team)
    yield _line(CSV_COLUMNS)
    after = 0
    while chunk := await sync_to_async(queries.invitation_chunk)(
        event, status_filter, after, CSV_CHUNK
    ):
        yield "".join(_line(_csv_values(invitation, zone)) for invitation in chunk)
        after = chunk[-1].pk


@require_GET
@login_required
def event_csv(request: HttpRequest, team_id: int, event_id: int) -> HttpResponse:
    """The invitations (of one filter, ``?status=``) with each answer, as CSV."""
    event = _event(request, team_id, event_id)
    status_filter = queries.parse_filter(request.GET.get("status"))
    actions.record_export(request.user, event, status_filter)
    response = StreamingHttpResponse(
        invitation_lines(event, status_filter), content_type="text/csv; charset=utf-8"
    )
    filename = f"event-{event.pk}-{slugify(event.name)[:60] or 'invitations'}"
    if status_filter != "all":
        filename += f"-{status_filter}"
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
