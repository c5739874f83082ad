"""A first text outside the inbox's sending hours, in the recipient's time, needs "send anyway";
an answer to someone who texted in the last day does not."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from textdesk.contacts.models import Contact
from textdesk.conversations.actions import OutsideQuietHours, start_conversation
from textdesk.conversations.models import Message
from textdesk.testing import receive_text

NUMBER = "+16175550190"  # Boston: America/New_York


@pytest.fixture(autouse=True)
def _rule_on(settings):
    settings.QUIET_HOURS_FOR_FIRST_TEXTS = True


def close_window_now(inbox) -> None:
    """A one-minute window three hours away from now in New York: closed whenever this runs."""
    local = datetime.now(ZoneInfo("America/New_York"))
    start = (local + timedelta(hours=3)).replace(second=0, microsecond=0)
    if start.date() != local.date() or start.hour == 23:
        start = (local - timedelta(hours=3)).replace(second=0, microsecond=0)
    inbox.window_start, inbox.window_end = start.time(), (start + timedelta(minutes=1)).time()
    inbox.save()


def test_a_first_text_at_night_their_time_is_held_until_the_sender_says_so(world):
    close_window_now(world.shared)
    with pytest.raises(OutsideQuietHours, match=r"for them \(America/New_York\), outside"):
        start_conversation(world.bob, world.shared, NUMBER, "Hi! Your file is complete.")
    assert not Message.objects.exists()
    assert not Contact.objects.filter(phone=NUMBER).exists()  # nothing half-written

    start_conversation(
        world.bob, world.shared, NUMBER, "Hi! Your file is complete.", outside_hours_ok=True
    )
    assert Message.objects.filter(direction="out").count() == 1


def test_someone_who_texted_today_is_answered_at_any_hour(world):
    receive_text(world.shared, "Is my file complete?", sender=NUMBER)
    close_window_now(world.shared)
    start_conversation(world.bob, world.shared, NUMBER, "Yes, it is!")
    assert Message.objects.filter(direction="out").count() == 1


def test_the_form_asks_to_send_anyway_and_then_sends(world, client):
    close_window_now(world.shared)
    client.force_login(world.bob)
    url = f"/inboxes/{world.shared.pk}/new/"
    response = client.post(url, {"number": "(617) 555-0190", "body": "Hi there"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "outside Admissions&#x27;s sending hours" in html
    assert 'name="send_anyway"' in html
    assert client.get(url).content.decode().count('name="send_anyway"') == 0
    response = client.post(
        url, {"number": "(617) 555-0190", "body": "Hi there", "send_anyway": "on"}
    )
    assert response.status_code == 302
    assert Message.objects.filter(direction="out", body="Hi there").exists()
