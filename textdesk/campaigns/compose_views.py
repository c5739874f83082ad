"""Compose: a short wizard (audience, message, review) ending in Send or Schedule, and the list
of what is scheduled on each number."""

import zoneinfo
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from textdesk.campaigns import actions
from textdesk.campaigns.models import MessageTemplate, Send
from textdesk.campaigns.review import OPT_OUT_FOOTER, review_send
from textdesk.campaigns.views import meter_context
from textdesk.contacts.models import ContactField, Segment
from textdesk.events.models import Event
from textdesk.inboxes.models import PhoneNumber
from textdesk.inboxes.queries import accessible_inboxes
from textdesk.media.storage import MediaRefused, public_url, store_upload


class Draft:
    """What the wizard has gathered so far, carried from step to step in hidden fields."""

    def __init__(self, request: HttpRequest) -> None:
        data = request.POST if request.method == "POST" else request.GET
        self.inboxes = list(
            accessible_inboxes(request.user)
            .filter(phone_numbers__isnull=False)
            .select_related("team")
            .distinct()
            .order_by("team__name", "name")
        )
        self.inbox = _pick(self.inboxes, data.get("inbox"))
        self.numbers = list(self.inbox.phone_numbers.all()) if self.inbox else []
        self.phone_number = _pick(self.numbers, data.get("phone_number")) or (
            self.numbers[0] if self.numbers else None
        )
        team_segments = list(Segment.objects.filter(team=self.inbox.team)) if self.inbox else []
        self.team_segments = team_segments
        chosen = set(data.getlist("segments"))
        dropped = set(data.getlist("excluded_segments"))
        self.segments = [s for s in team_segments if str(s.pk) in chosen]
        self.excluded = [s for s in team_segments if str(s.pk) in dropped]
        self.body = data.get("body", "")
        self.media_url = data.get("media_url", "")
        self.outside_window = data.get("outside_window", Send.OutsideWindow.WAIT)
        self.when = data.get("when", "now")
        self.scheduled_local = data.get("scheduled_at", "")
        self.confirmed = data.get("confirmed") == "yes"
        # An event's invitation or reminder: recipients get an open invitation to it.
        event_id = data.get("event", "")
        self.event = (
            Event.objects.filter(pk=event_id, inbox=self.inbox).first()
            if self.inbox and event_id.isdecimal()
            else None
        )

    @property
    def media_urls(self) -> list[str]:
        return [self.media_url] if self.media_url else []

    def scheduled_at(self) -> datetime | None:
        """The chosen local time in the team's zone, as an aware moment (None: now)."""
        if self.when != "later":
            return None
        try:
            naive = datetime.fromisoformat(self.scheduled_local)
        except ValueError:
            raise actions.SendRefused("Choose the date and time to send it.") from None
        return naive.replace(tzinfo=zoneinfo.ZoneInfo(self.inbox.team.time_zone))


def _pick(items, raw):
    return next((item for item in items if str(item.pk) == str(raw)), None)


def _context(draft: Draft, step: str, **extra) -> dict:
    team = draft.inbox.team if draft.inbox else None
    context = {
        "draft": draft,
        "step": step,
        "team": team,
        "templates": MessageTemplate.objects.filter(team=team) if team else [],
        "fields": ContactField.objects.filter(team=team) if team else [],
        "opt_out_footer": OPT_OUT_FOOTER,
        # As it will go out: with the inbox's footer.
        "outgoing_body": draft.inbox.with_footer(draft.body) if draft.inbox else draft.body,
        "outside_choices": Send.OutsideWindow.choices,
    }
    if draft.body or draft.media_urls:
        context |= meter_context(draft.body)
    return context | extra


@require_http_methods(["GET", "POST"])
@login_required
def compose(request: HttpRequest) -> HttpResponse:
    draft = Draft(request)
    if draft.inbox is not None:
        timezone.activate(zoneinfo.ZoneInfo(draft.inbox.team.time_zone))
    step = request.POST.get("step", "audience") if request.method == "POST" else "audience"
    try:
        if step == "message":
            _check_audience(draft)
        elif step == "review":
            _check_audience(draft)
            _take_picture(request, draft)
            if request.POST.get("append_footer"):
                draft.body = f"{draft.body.rstrip()}\n{OPT_OUT_FOOTER}"
            actions.check_send_body(draft.inbox.team, draft.body, draft.media_urls)
            return _review(request, draft)
        elif step == "send":
            _check_audience(draft)
            return _send(request, draft)
    except actions.SendRefused as e:
        back = {"message": "audience", "review": "message", "send": "review"}.get(step, "audience")
        if draft.inbox is None or draft.phone_number is None or not draft.segments:
            back = "audience"  # nothing further can be shown without an audience
        if back == "review":
            return _review(request, draft, error=str(e))
        context = _context(draft, back, error=str(e))
        return render(request, "campaigns/compose.html", context, status=422)
    return render(request, "campaigns/compose.html", _context(draft, step))


def _check_audience(draft: Draft) -> None:
    if draft.inbox is None or draft.phone_number is None:
        raise actions.SendRefused("Choose the inbox (and number) it is sent from.")
    if not draft.segments:
        raise actions.SendRefused("Choose who gets it: at least one segment.")


def _take_picture(request: HttpRequest, draft: Draft) -> None:
    upload = request.FILES.get("media")
    if upload is None:
        return
    try:
        stored = store_upload(draft.inbox.team, upload, request.user)
    except MediaRefused as e:
        raise actions.SendRefused(e.message) from None
    draft.media_url = public_url(stored)


def _review_of(draft: Draft, start_at: datetime | None):
    return review_send(
        inbox=draft.inbox,
        phone_number=draft.phone_number,
        segments=draft.segments,
        excluded_segments=draft.excluded,
        body=draft.body,
        media_urls=draft.media_urls,
        outside_window=draft.outside_window,
        start_at=start_at,
    )


def _review(request: HttpRequest, draft: Draft, error: str = "") -> HttpResponse:
    scheduled = None
    if draft.when == "later" and draft.scheduled_local:
        try:
            scheduled = draft.scheduled_at()
        except actions.SendRefused:
            scheduled = None
    context = _context(draft, "review", review=_review_of(draft, scheduled), error=error)
    return render(request, "campaigns/compose.html", context, status=422 if error else 200)


def _send(request: HttpRequest, draft: Draft) -> HttpResponse:
    scheduled = draft.scheduled_at()
    estimate = _review_of(draft, scheduled).estimate
    send = actions.create_send(
        request.user,
        inbox=draft.inbox,
        phone_number=draft.phone_number,
        segments=draft.segments,
        excluded_segments=draft.excluded,
        body=draft.body,
        media_urls=draft.media_urls,
        outside_window=draft.outside_window,
        scheduled_at=scheduled,
        confirmed=draft.confirmed,
        estimated_finish_at=estimate.finishes_at,
        event=draft.event,
    )
    return redirect("send_report", send_id=send.pk)


@require_GET
@login_required
def schedule(request: HttpRequest) -> HttpResponse:
    """What is coming, per number and day: a calendar of scheduled and running sends."""
    inboxes = accessible_inboxes(request.user)
    sends = (
        Send.objects.filter(
            inbox__in=inboxes,
            status__in=[Send.Status.SCHEDULED, Send.Status.SENDING, Send.Status.PAUSED],
        )
        .select_related("inbox__team", "phone_number")
        .order_by("phone_number__number", "scheduled_at")
    )
    calendar: dict[PhoneNumber, dict] = {}
    for send in sends:
        zone = zoneinfo.ZoneInfo(send.inbox.team.time_zone)
        day = send.scheduled_at.astimezone(zone).date()
        calendar.setdefault(send.phone_number, {}).setdefault(day, []).append(send)
    return render(request, "campaigns/schedule.html", {"calendar": calendar})


@require_http_methods(["GET", "POST"])
@login_required
def edit_scheduled(request: HttpRequest, send_id: int) -> HttpResponse:
    """Change a scheduled send's time or text, or cancel it, before it starts."""
    send = (
        Send.objects.filter(pk=send_id, inbox__in=accessible_inboxes(request.user))
        .select_related("inbox__team")
        .first()
    )
    if send is None:
        raise Http404("No such send")
    zone = zoneinfo.ZoneInfo(send.inbox.team.time_zone)
    timezone.activate(zone)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("cancel"):
                actions.cancel_send(request.user, send)
            else:
                try:
                    naive = datetime.fromisoformat(request.POST.get("scheduled_at", ""))
                except ValueError:
                    raise actions.SendRefused("Choose the date and time.") from None
                actions.reschedule_send(
                    request.user,
                    send,
                    scheduled_at=naive.replace(tzinfo=zone),
                    body=request.POST.get("body", send.body),
                )
        except actions.SendRefused as e:
            error = str(e)
        else:
            return redirect("schedule")
    local = send.scheduled_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    context = {"send": send, "local": local, "error": error}
    return render(request, "campaigns/edit_scheduled.html", context, status=422 if error else 200)
