"""An inbox's admins set its quiet hours (only stricter) and the footer of its sends."""

from datetime import time

from textdesk.campaigns import actions as sends
from textdesk.campaigns.review import review_send
from textdesk.compliance.models import AuditEvent
from textdesk.contacts.models import Segment
from textdesk.inboxes.models import Inbox
from textdesk.testing import create_contact, drain

FOOTER = "Reply STOP to opt out."


def settings_url(inbox) -> str:
    return f"/inboxes/{inbox.pk}/settings/"


def form(**overrides) -> dict:
    return {
        "window_start": "09:00",
        "window_end": "20:00",
        "evening_warning": "19:00",
        "footer": FOOTER,
    } | overrides


def test_an_admin_narrows_the_window_and_sets_a_footer_and_it_is_audited(world, client):
    client.force_login(world.alice)
    assert "Settings" in client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    response = client.post(settings_url(world.shared), form())
    assert response.status_code == 302
    inbox = Inbox.objects.get(pk=world.shared.pk)
    assert (inbox.window_start, inbox.window_end, inbox.evening_warning, inbox.footer) == (
        time(9),
        time(20),
        time(19),
        FOOTER,
    )
    event = AuditEvent.objects.get(action="settings.inbox")
    assert event.team_id == world.admissions.pk
    assert event.data["changed"]["window_start"] == {"from": "08:00:00", "to": "09:00:00"}
    page = client.get(settings_url(world.shared)).content.decode()
    assert "It adds 23 characters with its line break" in page


def test_the_window_can_only_be_made_stricter(world, client):
    client.force_login(world.alice)
    response = client.post(
        settings_url(world.shared), form(window_start="07:00", window_end="22:00")
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "No earlier than 08:00" in html
    assert "No later than 21:00" in html
    response = client.post(
        settings_url(world.shared), form(window_start="12:00", window_end="11:00")
    )
    assert "must end after it starts" in response.content.decode()
    assert Inbox.objects.get(pk=world.shared.pk).window_start == time(8)
    assert not AuditEvent.objects.filter(action="settings.inbox").exists()


def test_members_who_are_not_admins_cannot_change_settings(world, client):
    client.force_login(world.bob)
    assert "/settings/" not in client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert client.post(settings_url(world.shared), form()).status_code == 403
    assert Inbox.objects.get(pk=world.shared.pk).footer == ""


def test_the_footer_goes_out_once_on_every_send_and_counts_in_the_review(world):
    world.shared.footer = FOOTER
    world.shared.window_start, world.shared.window_end = time(0), time(23, 59, 59)
    world.shared.save()
    segment = Segment.objects.create(team=world.admissions, name="Two", kind="static")
    segment.members.add(
        create_contact(world.admissions, "+16175550190", first_name="Dana"),
        create_contact(world.admissions, "+16175550191", first_name="Eli"),
    )
    body = "Hi {first_name}, " + "x" * 130  # one segment alone, two with the footer
    review = review_send(
        inbox=world.shared,
        phone_number=world.shared.phone_numbers.get(),
        segments=[segment],
        excluded_segments=[],
        body=body,
        media_urls=[],
        outside_window="wait",
        start_at=None,
    )
    assert (review.worst_segments, review.total_segments) == (2, 4)
    assert not review.suggest_opt_out_footer
    for text in (body, f"{body}\n{FOOTER}"):  # already ending with it: not added twice
        sends.create_send(
            world.alice,
            inbox=world.shared,
            phone_number=world.shared.phone_numbers.get(),
            segments=[segment],
            body=text,
            confirmed=True,
        )
    drain()
    from textdesk.providers.simulator.models import CarrierMessage

    bodies = list(CarrierMessage.objects.filter(direction="mt").values_list("body", flat=True))
    assert len(bodies) == 4
    assert all(b.endswith(f"\n{FOOTER}") and b.count(FOOTER) == 1 for b in bodies)
