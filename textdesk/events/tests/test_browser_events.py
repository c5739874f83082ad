"""An open event page follows the answers as they come in, without reloading."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from textdesk.conversations.tests.test_browser_round_trip import sign_in
from textdesk.events.models import Event, Invitation
from textdesk.testing import create_contact, create_world, receive_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUEST = "+16175550177"


def test_a_yes_by_text_changes_the_confirmed_tally_on_the_open_page(page, asgi_live_server):
    world = create_world()
    starts = timezone.now() + timedelta(days=7)
    event = Event.objects.create(
        team=world.admissions,
        inbox=world.shared,
        name="Open Day",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        location="Great Hall",
        capacity=20,
    )
    contact = create_contact(world.admissions, GUEST, first_name="Sam")
    Invitation.objects.create(event=event, contact=contact, invited_at=timezone.now())

    sign_in(page, asgi_live_server, "bob")
    page.goto(f"{asgi_live_server}/teams/{world.admissions.pk}/events/{event.pk}/")
    confirmed = page.locator("#event-tallies .tally-confirmed")
    expect(confirmed).to_contain_text("0")
    expect(page.locator("#event-tallies .tally-no-answer")).to_have_text("1")
    expect(page.locator("html[data-live=open]")).to_have_count(1)

    receive_text(world.shared, "YES", sender=GUEST)

    expect(confirmed).to_have_text("1 / 20", timeout=15_000)
    expect(page.locator("#event-tallies .tally-no-answer")).to_have_text("0")
    expect(page.locator("#event-tallies svg polyline.line-confirmed")).to_have_count(1)
