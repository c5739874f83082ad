"""Writes of the event pages: create and change events, export their invitations, and make
the static list a follow-up text goes to. Answers themselves are changed in rsvp.py."""

from typing import Any

from django.db import transaction

from textdesk.accounts.models import Team, User
from textdesk.compliance import audit
from textdesk.contacts.models import Segment
from textdesk.events.models import Event
from textdesk.events.queries import FOLLOW_UP_GROUPS
from textdesk.inboxes.queries import can_access_inbox

SEGMENT_NAME_LENGTH = 100
BATCH = 5000


class EventRefused(ValueError):
    """An event change that cannot be made, said plainly."""


@transaction.atomic
def create_event(user: User, team: Team, fields: dict[str, Any]) -> Event:
    """A new event of ``team`` from the form's cleaned fields."""
    event = Event(team=team, created_by=user, **fields)
    if event.inbox.team_id != team.pk or not can_access_inbox(user, event.inbox):
        raise EventRefused("Choose one of your team's inboxes.")
    event.save()
    audit.record("event.saved", actor=user, team_id=team.pk, event_id=event.pk, created=True)
    return event


@transaction.atomic
def update_event(user: User, event: Event, fields: dict[str, Any]) -> Event:
    """Change an event under its row lock, so that a capacity change and an answer arriving
    at the same moment are decided one after the other. Lowering the capacity below the
    number confirmed un-confirms nobody: the page warns instead."""
    locked = Event.objects.select_for_update().get(pk=event.pk)
    for name, value in fields.items():
        setattr(locked, name, value)
    if locked.inbox.team_id != event.team_id or not can_access_inbox(user, locked.inbox):
        raise EventRefused("Choose one of your team's inboxes.")
    locked.save()
    audit.record(
        "event.saved",
        actor=user,
        team_id=event.team_id,
        event_id=event.pk,
        changed=sorted(fields),
    )
    return locked


@transaction.atomic
def record_export(user: User, event: Event, status_filter: str) -> None:
    """Phone numbers leave Textdesk: say who took them, and which."""
    audit.record(
        "event.exported",
        actor=user,
        team_id=event.team_id,
        event_id=event.pk,
        status=status_filter,
    )


def _unique_segment_name(team: Team, wanted: str) -> str:
    name, n = wanted, 2
    while Segment.objects.filter(team=team, name__iexact=name).exists():
        suffix = f" ({n})"
        name = wanted[: SEGMENT_NAME_LENGTH - len(suffix)] + suffix
        n += 1
    return name


def follow_up_name(event: Event, group: str) -> str:
    """ "Open Day — no answer": everyone whose answer is that when the segment is used."""
    tail = f" — {FOLLOW_UP_GROUPS[group]}"
    return event.name[: SEGMENT_NAME_LENGTH - len(tail)] + tail


@transaction.atomic
def follow_up_segment(user: User, event: Event, group: str) -> Segment:
    """The segment of the event's contacts whose answer is ``group``, as it stands when the
    follow-up goes out (a reminder scheduled for tomorrow reaches who confirmed by then, and a
    nudge skips who answered meanwhile). One per event and group, made the first time."""
    if group not in FOLLOW_UP_GROUPS:
        raise EventRefused("Choose who the follow-up is for.")
    team = event.team
    definition = {
        "match": "all",
        "conditions": [{"field": "event", "op": group, "value": event.pk}],
    }
    # Compared here, not in SQL: JSON equality differs between SQLite and PostgreSQL.
    for existing in Segment.objects.filter(team=team, kind=Segment.Kind.DYNAMIC):
        if existing.definition == definition:
            return existing
    segment = Segment.objects.create(
        team=team,
        name=_unique_segment_name(team, follow_up_name(event, group)),
        kind=Segment.Kind.DYNAMIC,
        definition=definition,
        created_by=user,
    )
    audit.record(
        "segment.saved",
        actor=user,
        team_id=team.pk,
        segment_id=segment.pk,
        name=segment.name,
        event_id=event.pk,
        group=group,
    )
    return segment
