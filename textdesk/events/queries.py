"""Reads for the event pages. A team's events are seen by its members who may work in the
event's inbox (the inbox sends the invitations and reads the answers), and nobody else.

Every number is counted by the database: the tallies are one aggregate over the event's
invitations (index ``invitation_by_status``), the events list one annotated query, and the
invitation table one page of one query."""

import re
from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from textdesk.accounts.models import Team, User
from textdesk.campaigns.merge import MergeField, parse
from textdesk.contacts.models import Contact
from textdesk.events.models import Event, Invitation, InvitationChange
from textdesk.events.rsvp import event_values
from textdesk.inboxes.queries import accessible_inboxes

Status = Invitation.Status
PAGE_SIZE = 50
OPTED_OUT = "opted_out"
# The invitation table's filters: every status, and contacts who have opted out since.
STATUS_FILTERS: list[tuple[str, str]] = [
    ("all", "All"),
    (Status.INVITED, "No answer"),
    (Status.CONFIRMED, "Confirmed"),
    (Status.DECLINED, "Declined"),
    (Status.WAITLISTED, "Waitlisted"),
    (Status.OFFERED, "Offered a place"),
    (Status.LAPSED, "Offer lapsed"),
    (OPTED_OUT, "Opted out"),
]
# The groups a follow-up text can go to, in the order the page offers them.
FOLLOW_UP_GROUPS: dict[str, str] = {
    Status.INVITED: "no answer",
    Status.CONFIRMED: "confirmed",
    Status.DECLINED: "declined",
    Status.WAITLISTED: "waitlisted",
}


# --- Which events -------------------------------------------------------------------------


def events_visible_to(user: User, team: Team) -> QuerySet[Event]:
    return Event.objects.filter(team=team, inbox__in=accessible_inboxes(user))


def get_event_or_404(user: User, team: Team, event_id: int) -> Event:
    """The event, or 404 both when it does not exist and when its inbox is not the user's to
    see, so that nobody can probe which events exist."""
    event = (
        events_visible_to(user, team).select_related("team", "inbox").filter(pk=event_id).first()
    )
    if event is None:
        raise Http404("No such event")
    return event


def get_invitation_or_404(event: Event, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(event=event, pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


# --- Tallies ------------------------------------------------------------------------------


@dataclass
class Tallies:
    invited: int  # every invitation, whatever its answer
    confirmed: int
    declined: int
    waitlisted: int
    offered: int
    lapsed: int
    no_answer: int
    opted_out: int  # invitations whose contact has opted out (of anything we send)

    def over_capacity(self, capacity: int | None) -> int:
        """How many more are confirmed than the event has places (capacity lowered later)."""
        if capacity is None:
            return 0
        return max(self.confirmed - capacity, 0)


def _tally_expressions(prefix: str = "") -> dict:
    def by(status: str) -> Count:
        return Count(f"{prefix}pk", filter=Q(**{f"{prefix}status": status}))

    return {
        "t_invited": Count(f"{prefix}pk"),
        "t_confirmed": by(Status.CONFIRMED),
        "t_declined": by(Status.DECLINED),
        "t_waitlisted": by(Status.WAITLISTED),
        "t_offered": by(Status.OFFERED),
        "t_lapsed": by(Status.LAPSED),
        "t_no_answer": by(Status.INVITED),
        "t_opted_out": Count(
            f"{prefix}pk", filter=Q(**{f"{prefix}contact__consent": Contact.Consent.OPTED_OUT})
        ),
    }


def _tallies_from(values) -> Tallies:
    get = values.get if isinstance(values, dict) else lambda key: getattr(values, key)
    return Tallies(
        invited=get("t_invited") or 0,
        confirmed=get("t_confirmed") or 0,
        declined=get("t_declined") or 0,
        waitlisted=get("t_waitlisted") or 0,
        offered=get("t_offered") or 0,
        lapsed=get("t_lapsed") or 0,
        no_answer=get("t_no_answer") or 0,
        opted_out=get("t_opted_out") or 0,
    )


def tallies(event: Event) -> Tallies:
    """One query, whatever the number of invitations."""
    return _tallies_from(Invitation.objects.filter(event=event).aggregate(**_tally_expressions()))


@dataclass
class EventRow:
    event: Event
    tallies: Tallies


def events_with_tallies(user: User, team: Team, now: datetime) -> tuple[list, list]:
    """The team's events the user may see, each with its tallies: those not over yet (soonest
    first), then those over (latest first). One query."""
    # Counting through the reverse relation joins the contact only for the opted-out count.
    found = list(
        events_visible_to(user, team)
        .select_related("inbox")
        .annotate(**_tally_expressions("invitations__"))
    )
    rows = [EventRow(event, _tallies_from(event)) for event in found]
    upcoming = sorted(
        (r for r in rows if r.event.ends_at > now), key=lambda r: (r.event.starts_at, r.event.pk)
    )
    past = sorted(
        (r for r in rows if r.event.ends_at <= now),
        key=lambda r: (r.event.starts_at, r.event.pk),
        reverse=True,
    )
    return upcoming, past


# --- Invitations --------------------------------------------------------------------------


def parse_filter(value: str | None) -> str:
    return value if value in dict(STATUS_FILTERS) else "all"


def invitations(event: Event, status_filter: str) -> QuerySet[Invitation]:
    """The event's invitations of one filter, by name; the contact comes in the same query."""
    found = Invitation.objects.filter(event=event).select_related("contact")
    if status_filter == OPTED_OUT:
        found = found.filter(contact__consent=Contact.Consent.OPTED_OUT)
    elif status_filter != "all":
        found = found.filter(status=status_filter)
    return found.order_by("contact__last_name", "contact__first_name", "contact__phone", "pk")


def invitation_page(event: Event, status_filter: str, page: str | None) -> Page:
    return Paginator(invitations(event, status_filter), PAGE_SIZE).get_page(page)


def invitation_chunk(
    event: Event, status_filter: str, after_id: int, size: int
) -> list[Invitation]:
    """For the CSV: the next ``size`` invitations after ``after_id``, in id order."""
    return list(invitations(event, status_filter).filter(pk__gt=after_id).order_by("pk")[:size])


# --- Over time ----------------------------------------------------------------------------


def changes(event: Event) -> list[tuple[int, str, datetime]]:
    """Every change of the event's invitations as (invitation, status, when), oldest first:
    one query of three narrow columns (a few thousand rows for a large event)."""
    return list(
        InvitationChange.objects.filter(invitation__event=event)
        .order_by("created_at", "pk")
        .values_list("invitation_id", "status", "created_at")
    )


# --- Texts for compose --------------------------------------------------------------------

REMINDER = "Reminder: {event} is on {when}, at {location}. Reply NO if you can't come."
REMINDER_NOWHERE = "Reminder: {event} is on {when}. Reply NO if you can't come."


def fill_event_fields(text: str, event: Event) -> str:
    """``text`` with {event}, {when} and {location} filled in and every other merge field
    left as written, so that compose still fills the contact's ({first_name|there}) for each
    recipient. Literal braces stay escaped; an empty field without a fallback is left out."""
    values = event_values(event)
    out: list[str] = []
    for part in parse(text):
        if isinstance(part, MergeField):
            if part.name in values:
                value = values[part.name].strip() or (part.fallback or "")
                out.append(value.replace("{", "{{").replace("}", "}}"))
            elif part.fallback is not None:
                out.append(f"{{{part.name}|{part.fallback}}}")
            else:
                out.append(f"{{{part.name}}}")
        else:
            out.append(part.replace("{", "{{").replace("}", "}}"))
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def suggested_text(event: Event, group: str) -> str:
    """What compose starts from for a follow-up to ``group`` (a status), or the invitation."""
    if group == Status.CONFIRMED:
        return fill_event_fields(REMINDER if event.location else REMINDER_NOWHERE, event)
    if group == Status.WAITLISTED:
        return fill_event_fields(event.waitlisted_text, event)
    if group == Status.DECLINED:
        return ""  # what to say to those who cannot come is the writer's to choose
    return fill_event_fields(event.invitation_text, event)
