"""Answers to invitations: by reply (yes and no words, the "which event?" question), by staff,
and by the waitlist (places offered when someone declines, offers that lapse).

Every change of an invitation happens under its event's row lock, so that capacity is decided
one answer at a time: 200 yes replies at once to 50 places confirm exactly 50."""

import re
import zoneinfo
from collections import ChainMap
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from textdesk.accounts.models import User
from textdesk.campaigns.merge import render
from textdesk.compliance import audit
from textdesk.compliance.keywords import normalize
from textdesk.contacts.models import Contact
from textdesk.core import clock
from textdesk.events.models import Event, EventQuestion, Invitation, InvitationChange
from textdesk.inboxes.models import Inbox
from textdesk.live.events import publish

Status = Invitation.Status
# A "which event?" question is answered by the next reply within this long, or forgotten.
QUESTION_HOURS = 72
# Statuses that hold one of the event's places.
HOLDING = (Status.CONFIRMED, Status.OFFERED)
# What staff may set an invitation to by hand.
STAFF_STATUSES = (Status.INVITED, Status.CONFIRMED, Status.DECLINED, Status.WAITLISTED)


def words(listing: str) -> set[str]:
    """ "YES, Y, Yep" -> {"yes", "y", "yep"}: compared as the keyword check does (letters and
    digits only, any case)."""
    return {normalize(word) for word in listing.split(",") if normalize(word)}


def event_values(event: Event, deadline: datetime | None = None) -> dict[str, str]:
    zone = zoneinfo.ZoneInfo(event.team.time_zone)
    starts = timezone.localtime(event.starts_at, zone)
    values = {
        "event": event.name,
        "when": f"{starts:%a %b} {starts.day}, {starts:%-I:%M %p}",
        "location": event.location,
    }
    if deadline is not None:
        moment = timezone.localtime(deadline, zone)
        values["deadline"] = f"{moment:%a %b} {moment.day}, {moment:%-I:%M %p}"
    return values


def fill(text: str, event: Event, contact: Contact | None = None, deadline=None) -> str:
    """An event text with the event's fields (and the contact's, when given) filled in; a
    field without a value (and no fallback) is left out rather than holding the text up."""
    values: dict | ChainMap = event_values(event, deadline)
    if contact is not None:
        values = ChainMap(values, contact.merge_values())
    return re.sub(r" {2,}", " ", render(text, values).text).strip()


def open_invitations(contact: Contact, inbox: Inbox, now: datetime) -> list[Invitation]:
    return list(
        Invitation.objects.filter(contact=contact, event__inbox=inbox, event__ends_at__gt=now)
        .select_related("event", "event__team")
        .order_by("event__starts_at", "event_id")
    )


@dataclass
class Outcome:
    """What a reply did: the answer to queue (if any), whether a person should still read it,
    and the event it is about."""

    answer: str = ""
    needs_reply: bool = True
    event: Event | None = None
    note: str = ""


def handle_reply(inbox: Inbox, contact: Contact, message) -> Outcome | None:
    """Read an inbound text (already stored, in the caller's transaction) as an answer to an
    invitation. None when the contact has no open invitation in this inbox (or no question
    pending): an ordinary text."""
    now = clock.now()
    word = normalize(message.body)
    # Every inbound text passes here: only a number can answer a pending question.
    question = (
        EventQuestion.objects.filter(
            contact=contact,
            inbox=inbox,
            resolved_at__isnull=True,
            asked_at__gte=now - timedelta(hours=QUESTION_HOURS),
        )
        .order_by("-asked_at")
        .first()
        if word.isdecimal()
        else None
    )
    if question is not None and 1 <= int(word) <= len(question.events):
        EventQuestion.objects.filter(pk=question.pk).update(resolved_at=now)
        invitation = Invitation.objects.filter(
            contact=contact, event_id=question.events[int(word) - 1]
        ).first()
        if invitation is not None:
            return answer(invitation, yes=question.answer_yes, message=message)
    invitations = open_invitations(contact, inbox, now)
    if not invitations:
        return None
    yes = any(word in words(i.event.yes_words) for i in invitations)
    no = any(word in words(i.event.no_words) for i in invitations)
    if len(invitations) == 1:
        invitation = invitations[0]
        event = invitation.event
        if word in words(event.yes_words):
            return answer(invitation, yes=True, message=message)
        if word in words(event.no_words):
            return answer(invitation, yes=False, message=message)
        if _looks_like_an_attempt(message.body):
            # "Maybe", "k", "yess": tell them what works; a person sees it too.
            return Outcome(fill(event.unclear_text, event, contact), True, event)
        return Outcome(event=event)  # a question about the event, for a person
    if yes != no:
        # Several events: do not guess which one they mean; ask, and read the next reply.
        EventQuestion.objects.filter(contact=contact, inbox=inbox, resolved_at__isnull=True).update(
            resolved_at=now
        )
        EventQuestion.objects.create(
            contact=contact,
            inbox=inbox,
            answer_yes=yes,
            events=[i.event_id for i in invitations],
            asked_at=now,
        )
        choices = ", ".join(
            f"{n} for {i.event.name} ({event_values(i.event)['when']})"
            for n, i in enumerate(invitations, start=1)
        )
        what = "coming to" if yes else "not coming to"
        return Outcome(f"Which event are you {what}? Reply {choices}.", False)
    return Outcome()


def _looks_like_an_attempt(body: str) -> bool:
    """One short word and no question: someone answering, not asking."""
    text = body.strip()
    return 0 < len(text) <= 12 and len(text.split()) == 1 and "?" not in text


def answer(
    invitation: Invitation,
    *,
    yes: bool,
    message=None,
    actor: User | None = None,
    status: str | None = None,
) -> Outcome:
    """Record a yes or no (or, from staff, any ``status``) for ``invitation``; returns the
    automatic answer to send. Capacity is checked under the event's row lock."""
    now = clock.now()
    cause = InvitationChange.Cause.STAFF if actor else InvitationChange.Cause.REPLY
    if status is not None and status not in STAFF_STATUSES:
        # An offer needs its deadline and text, a lapse its offer: only the waitlist sets those.
        raise RsvpRefused(f"Staff can set an answer to {', '.join(STAFF_STATUSES)}, not {status}.")
    with transaction.atomic():
        # Only the event's row (not its team's): answers to other events go on meanwhile.
        events = Event.objects.select_for_update(of=("self",)).select_related("team")
        event = events.get(pk=invitation.event_id)
        invitation = Invitation.objects.select_related("contact").get(pk=invitation.pk)
        contact = invitation.contact
        before = invitation.status
        text = ""
        if status is None:
            status, text = _reply_outcome(event, invitation, yes, now)
        elif status == Status.CONFIRMED and before not in HOLDING and _full(event):
            raise RsvpRefused(f"{event.name} is full; put them on the waitlist or raise capacity.")
        if status != before:
            _move(invitation, status, now, cause=cause, actor=actor, message=message)
            if before in HOLDING and status not in HOLDING:
                offer_next_place(event, now)
            publish("event", inbox_id=event.inbox_id, topic=f"event-{event.pk}", event=event.pk)
            if actor is not None:
                audit.record(
                    "event.answer_changed",
                    actor=actor,
                    team_id=event.team_id,
                    event_id=event.pk,
                    contact_id=contact.pk,
                    status_from=before,
                    status_to=status,
                )
        label = Status(status).label.lower()
        note = f"{event.name}: {label}" if status != before else ""
        return Outcome(fill(text, event, contact) if text else "", False, event, note)


class RsvpRefused(Exception):
    pass


def _full(event: Event) -> bool:
    if event.capacity is None:
        return False
    held = Invitation.objects.filter(event=event, status__in=HOLDING).count()
    return held >= event.capacity


def _reply_outcome(event: Event, invitation: Invitation, yes: bool, now) -> tuple[str, str]:
    """The new status and the answer's template for a yes or no by reply."""
    current = invitation.status
    if yes:
        if current == Status.CONFIRMED:
            return current, event.already_confirmed_text
        if current == Status.OFFERED or not _full(event):
            return Status.CONFIRMED, event.confirmed_text
        if current == Status.WAITLISTED:
            return current, event.waitlisted_text
        return Status.WAITLISTED, event.waitlisted_text
    if current == Status.DECLINED:
        return current, ""  # said twice: answered once
    return Status.DECLINED, event.declined_text


def _move(invitation: Invitation, status: str, now, *, cause, actor=None, message=None) -> None:
    invitation.status = status
    invitation.answered_at = now
    fields = ["status", "answered_at"]
    if status == Status.WAITLISTED:
        invitation.waitlisted_at = now
        fields.append("waitlisted_at")
    if status != Status.OFFERED:
        invitation.offer_expires_at = None
    fields.append("offer_expires_at")
    invitation.save(update_fields=fields)
    InvitationChange.objects.create(
        invitation=invitation,
        status=status,
        cause=cause,
        actor=actor,
        message=message,
        created_at=now,
    )


def offer_next_place(event: Event, now: datetime) -> Invitation | None:
    """A place is free: offer it to the first on the waitlist, by text, with a deadline. Runs
    under the event's row lock (the caller's)."""
    if _full(event):
        return None
    first = (
        Invitation.objects.filter(event=event, status=Status.WAITLISTED)
        .select_related("contact")
        .order_by("waitlisted_at", "id")
        .first()
    )
    if first is None:
        return None
    deadline = now + timedelta(hours=event.offer_hours)
    first.offer_expires_at = deadline
    _move(first, Status.OFFERED, now, cause=InvitationChange.Cause.WAITLIST)
    text_contact(event, first.contact, fill(event.offer_text, event, first.contact, deadline))
    return first


def text_contact(event: Event, contact: Contact, body: str) -> None:
    """An automatic text about the event, in the event's inbox (its conversation with them)."""
    from textdesk.conversations.actions import queue_automatic_answer
    from textdesk.conversations.models import Conversation

    phone_number = event.inbox.phone_numbers.order_by("created_at", "id").first()
    if phone_number is None or contact.consent == Contact.Consent.OPTED_OUT:
        return
    conversation, _ = Conversation.objects.get_or_create(
        inbox=event.inbox, contact=contact, defaults={"phone_number": phone_number}
    )
    conversation = Conversation.objects.select_related("phone_number").get(pk=conversation.pk)
    queue_automatic_answer(conversation, body, "")


def expire_offers(now: datetime | None = None) -> int:
    """Offers nobody took in time lapse, and the place goes to the next on the waitlist."""
    now = now or clock.now()
    lapsed = 0
    due = Invitation.objects.filter(status=Status.OFFERED, offer_expires_at__lte=now)
    for invitation_id, event_id in due.values_list("pk", "event_id")[:100]:
        with transaction.atomic():
            event = (
                Event.objects.select_for_update(of=("self",))
                .select_related("team", "inbox")
                .get(pk=event_id)
            )
            invitation = Invitation.objects.filter(
                pk=invitation_id, status=Status.OFFERED, offer_expires_at__lte=now
            ).first()
            if invitation is None:
                continue
            _move(invitation, Status.LAPSED, now, cause=InvitationChange.Cause.WAITLIST)
            offer_next_place(event, now)
            publish("event", inbox_id=event.inbox_id, topic=f"event-{event.pk}", event=event.pk)
            lapsed += 1
    return lapsed
