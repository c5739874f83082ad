"""Many yes replies at the same moment never overbook an event."""

from datetime import timedelta

import pytest
from django.utils import timezone

from textdesk.contacts.models import Contact
from textdesk.events.models import Event, Invitation
from textdesk.testing import at_once, create_world, receive_text

pytestmark = pytest.mark.django_db(transaction=True)

REPLIES = 200
THREADS = 50  # each answers for 4 people; PostgreSQL allows 100 connections by default
CAPACITY = 50


def test_two_hundred_yes_replies_at_once_confirm_exactly_the_capacity():
    world = create_world()
    starts = timezone.now() + timedelta(days=7)
    event = Event.objects.create(
        team=world.admissions,
        inbox=world.shared,
        name="Orientation",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=CAPACITY,
    )
    phones = [f"+1617555{4000 + n:04d}" for n in range(REPLIES)]
    contacts = Contact.objects.bulk_create(
        [Contact(team=world.admissions, phone=phone) for phone in phones]
    )
    Invitation.objects.bulk_create(
        [
            Invitation(event=event, contact=contact, invited_at=timezone.now())
            for contact in Contact.objects.filter(pk__in=[c.pk for c in contacts])
        ]
    )

    def answer_for(share: list[str]):
        def run() -> None:
            for phone in share:
                receive_text(world.shared, "YES", sender=phone)

        return run

    at_once(*(answer_for(phones[n::THREADS]) for n in range(THREADS)))

    statuses = list(Invitation.objects.values_list("status", flat=True))
    assert statuses.count("confirmed") == CAPACITY
    assert statuses.count("waitlisted") == REPLIES - CAPACITY
    waitlist = list(
        Invitation.objects.filter(status="waitlisted").values_list("waitlisted_at", flat=True)
    )
    assert all(moment is not None for moment in waitlist)
