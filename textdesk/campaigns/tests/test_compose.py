"""The compose wizard, through its pages: audience, message, review, send or schedule."""

from datetime import UTC, datetime, time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from textdesk.campaigns.models import Send
from textdesk.contacts.models import Contact, Segment
from textdesk.media.tests.images import PNG
from textdesk.testing import create_contact


@pytest.fixture
def people(world):
    world.shared.window_start, world.shared.window_end = time(0, 0), time(23, 59, 59)
    world.shared.save()
    segment = Segment.objects.create(team=world.admissions, name="Admits", kind="static")
    contacts = [
        create_contact(world.admissions, f"+1617600{n:04d}", first_name=f"A{n}") for n in range(60)
    ]
    contacts[0].consent = Contact.Consent.OPTED_OUT
    contacts[0].save()
    contacts[1].first_name = ""
    contacts[1].save()
    segment.members.add(*contacts)
    return segment


def audience(world, segment, **more) -> dict:
    number = world.shared.phone_numbers.get()
    return {"inbox": world.shared.pk, "phone_number": number.pk, "segments": [segment.pk]} | more


def post(client, step: str, data: dict):
    return client.post("/compose/", {"step": step, **data})


def test_the_first_step_offers_only_inboxes_and_segments_the_user_may_use(world, people, client):
    client.force_login(world.charlie)
    page = client.get("/compose/").content.decode()
    assert "Financial Aid" in page
    assert f'value="{world.shared.pk}"' not in page
    page = client.get(f"/compose/?inbox={world.shared.pk}").content.decode()
    assert "Admits" not in page  # not his inbox: as if not chosen


def test_the_review_shows_recipients_exclusions_cost_time_and_warnings(world, people, client):
    client.force_login(world.bob)
    data = audience(world, people, body="Hi {first_name}, see you Saturday!")
    response = post(client, "review", data)
    assert response.status_code == 200
    review = response.context["review"]
    assert review.recipients == 58
    assert dict(review.excluded) == {"opted_out": 1, "missing_value": 1}
    assert review.worst_segments == 1
    assert review.needs_confirmation
    assert review.suggest_opt_out_footer  # 58 people, no STOP wording
    html = response.content.decode()
    assert "58 recipients" in html
    assert "Takes about" in html
    assert "no opt-out wording" in html


def test_sending_needs_a_confirmation_for_a_large_audience(world, people, client):
    client.force_login(world.bob)
    data = audience(world, people, body="Hello {first_name}! Reply STOP to opt out.")
    response = post(client, "send", data)
    assert response.status_code == 422
    assert "Confirm that 60 people" in response.content.decode()
    assert not Send.objects.exists()


def test_send_now_creates_the_send_and_goes_to_its_report(world, people, client):
    client.force_login(world.bob)
    data = audience(world, people, body="Hello {first_name|there}! Reply STOP to opt out.")
    response = post(client, "send", data | {"confirmed": "yes", "when": "now"})
    send = Send.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/sends/{send.pk}/"
    assert send.status == "sending"
    assert send.created_by == world.bob
    assert send.estimated_finish_at is not None
    assert list(send.segments.all()) == [people]


def test_the_opt_out_footer_can_be_appended_in_one_click(world, people, client):
    client.force_login(world.bob)
    data = audience(world, people, body="Hello {first_name|there}!")
    response = post(client, "review", data | {"append_footer": "1"})
    assert response.context["draft"].body == "Hello {first_name|there}!\nReply STOP to opt out."
    assert not response.context["review"].suggest_opt_out_footer


def test_scheduling_uses_the_team_time_zone_across_a_daylight_saving_change(world, people, client):
    client.force_login(world.bob)
    base = audience(world, people, body="Hi {first_name|there}. Reply STOP to opt out.")
    common = base | {"confirmed": "yes", "when": "later"}
    post(client, "send", common | {"scheduled_at": "2027-03-12T09:00"})  # EST, UTC-5
    post(client, "send", common | {"scheduled_at": "2027-03-15T09:00"})  # EDT, UTC-4
    before, after = Send.objects.order_by("scheduled_at")
    assert before.scheduled_at == datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    assert after.scheduled_at == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)
    assert {before.status, after.status} == {"scheduled"}


def test_a_scheduled_send_can_be_changed_or_cancelled_before_it_starts(world, people, client):
    client.force_login(world.bob)
    base = audience(world, people, body="Hi {first_name|there}. Reply STOP to opt out.")
    post(
        client,
        "send",
        base | {"confirmed": "yes", "when": "later", "scheduled_at": "2027-05-01T10:00"},
    )
    send = Send.objects.get()
    response = client.post(
        f"/sends/{send.pk}/edit/", {"scheduled_at": "2027-05-02T11:30", "body": "New text"}
    )
    assert response.status_code == 302
    send.refresh_from_db()
    assert send.scheduled_at == datetime(2027, 5, 2, 15, 30, tzinfo=UTC)
    assert send.body == "New text"
    client.post(f"/sends/{send.pk}/edit/", {"cancel": "1"})
    send.refresh_from_db()
    assert send.status == "cancelled"
    page = client.get("/sends/scheduled/").content.decode()
    assert "Nothing is scheduled." in page


def test_a_picture_can_go_with_a_send(world, people, client):
    client.force_login(world.bob)
    picture = SimpleUploadedFile("flyer.png", PNG, content_type="image/png")
    data = audience(world, people, body="Our flyer. Reply STOP to opt out.")
    response = client.post("/compose/", {"step": "review", **data, "media": picture})
    assert response.status_code == 200
    assert response.context["draft"].media_url.startswith("https://textdesk.example.edu/m/")
    assert any("Pictures make it slower" in w for w in response.context["review"].warnings)


def test_someone_else_s_inbox_cannot_be_used_by_posting_its_id(world, people, client):
    client.force_login(world.charlie)
    data = audience(world, people, body="Hi", confirmed="yes")
    response = post(client, "send", data)
    assert response.status_code == 422
    assert not Send.objects.exists()
