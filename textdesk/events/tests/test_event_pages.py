"""The event pages: the list, the form and its checks, the event with its tallies, chart and
invitations, staff answers, the CSV and follow-up texts, and who may see any of it."""

import csv
import io
import zoneinfo
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from textdesk.compliance.models import AuditEvent
from textdesk.contacts.models import Contact, Segment
from textdesk.contacts.segments import contacts_in
from textdesk.events.chart import buckets_for, standing
from textdesk.events.models import Event, Invitation, InvitationChange
from textdesk.events.queries import fill_event_fields
from textdesk.events.rsvp import answer, event_values
from textdesk.testing import create_contact

Status = Invitation.Status


def make_event(
    world, name="Open Day", *, inbox=None, capacity=None, days=10, location="Great Hall", **fields
) -> Event:
    starts = timezone.now() + timedelta(days=days)
    return Event.objects.create(
        team=world.admissions,
        inbox=inbox or world.shared,
        name=name,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        location=location,
        capacity=capacity,
        **fields,
    )


def invite(event, n: int, status=Status.INVITED, **contact_fields) -> Invitation:
    contact = create_contact(
        event.team, f"+1617555{n:04d}", first_name=f"Student{n}", **contact_fields
    )
    invitation = Invitation.objects.create(
        event=event, contact=contact, invited_at=timezone.now(), status=status
    )
    if status != Status.INVITED:
        invitation.answered_at = timezone.now()
        invitation.save(update_fields=["answered_at"])
        InvitationChange.objects.create(
            invitation=invitation, status=status, cause="reply", created_at=timezone.now()
        )
    return invitation


def event_url(event, path="") -> str:
    return f"/teams/{event.team_id}/events/{event.pk}/{path}"


def form_data(world, **changes) -> dict:
    data = {
        "name": "Open Day",
        "inbox": world.shared.pk,
        "starts_at": "2031-12-05T10:00",
        "ends_at": "2031-12-05T13:00",
        "location": "Great Hall",
        "capacity": "50",
        "yes_words": "YES, Y",
        "no_words": "NO, N",
        "offer_hours": "24",
        "invitation_text": "Hi {first_name|there}! Come to {event} on {when} at {location}?",
        "confirmed_text": "See you at {event}!",
        "declined_text": "Sorry you can't make {event}.",
        "waitlisted_text": "{event} is full; you're on the waitlist.",
        "already_confirmed_text": "You're already confirmed for {event}.",
        "unclear_text": "Reply YES or NO.",
        "offer_text": "A place opened at {event}! Reply YES by {deadline}.",
    }
    return data | changes


def read_csv(response) -> list[list[str]]:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return list(csv.reader(io.StringIO(async_to_sync(collect)().decode())))


# --- Create and edit ----------------------------------------------------------------------


def test_an_event_is_created_with_times_in_the_teams_zone_and_audited(world, client):
    world.admissions.time_zone = "America/Chicago"
    world.admissions.save()
    client.force_login(world.bob)
    response = client.post(f"/teams/{world.admissions.pk}/events/new/", form_data(world))
    event = Event.objects.get(name="Open Day")
    assert response.status_code == 302
    assert response["Location"] == event_url(event)
    zone = zoneinfo.ZoneInfo("America/Chicago")
    assert event.starts_at == datetime(2031, 12, 5, 10, 0, tzinfo=zone)
    assert event.ends_at == datetime(2031, 12, 5, 13, 0, tzinfo=zone)
    assert (event.team, event.inbox, event.capacity, event.created_by) == (
        world.admissions,
        world.shared,
        50,
        world.bob,
    )
    audit = AuditEvent.objects.get(action="event.saved")
    assert (audit.actor, audit.team_id, audit.data["event_id"]) == (
        world.bob,
        world.admissions.pk,
        event.pk,
    )


def test_the_edit_form_shows_the_times_in_the_teams_zone(world, client):
    world.admissions.time_zone = "America/Chicago"
    world.admissions.save()
    zone = zoneinfo.ZoneInfo("America/Chicago")
    event = make_event(world)
    event.starts_at = datetime(2031, 12, 5, 10, 0, tzinfo=zone)
    event.ends_at = datetime(2031, 12, 5, 13, 0, tzinfo=zone)
    event.save()
    client.force_login(world.alice)
    page = client.get(event_url(event, "edit/")).content.decode()
    assert 'type="datetime-local"' in page
    assert 'value="2031-12-05T10:00"' in page
    assert 'value="2031-12-05T13:00"' in page


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"ends_at": "2031-12-05T09:00"}, "ends_at", "The event must end after it starts."),
        ({"ends_at": "2031-12-05T10:00"}, "ends_at", "The event must end after it starts."),
        ({"no_words": "NO, Y, N"}, "no_words", "Y cannot mean both yes and no."),
        ({"no_words": "yes!"}, "no_words", "YES cannot mean both yes and no."),
        ({"yes_words": " , ,"}, "yes_words", "List at least one word that means yes"),
        ({"no_words": "!!"}, "no_words", "List at least one word that means no"),
        (
            {"confirmed_text": "See you, {favourite_colour}!"},
            "confirmed_text",
            "Unknown merge field: {favourite_colour}.",
        ),
        (
            {"confirmed_text": "Be there by {deadline}"},
            "confirmed_text",
            "Unknown merge field: {deadline}.",
        ),
        ({"invitation_text": "Hi {first name}"}, "invitation_text", "is not a merge field"),
        ({"unclear_text": "Reply { YES"}, "unclear_text", "A lone “{”"),
        ({"inbox": "999999"}, "inbox", "Select a valid choice."),
    ],
)
def test_the_form_refuses_what_would_not_work(world, client, changes, field, error):
    client.force_login(world.alice)
    response = client.post(f"/teams/{world.admissions.pk}/events/new/", form_data(world, **changes))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(error in message for message in errors[field]), errors[field]
    assert not Event.objects.exists()
    assert not AuditEvent.objects.filter(action="event.saved").exists()


def test_texts_may_use_event_fields_contact_fields_and_the_deadline_in_the_offer(world, client):
    client.force_login(world.alice)
    world.admissions.contact_fields.create(key="program", label="Program")
    data = form_data(
        world,
        confirmed_text="{first_name|there}, {program}: {event}, {when}, {location}. {{ok}}",
        offer_text="{full_name}: {event} by {deadline}",
    )
    response = client.post(f"/teams/{world.admissions.pk}/events/new/", data)
    assert response.status_code == 302, response.context["form"].errors


def test_only_the_teams_inboxes_the_user_may_work_in_are_offered(world, client):
    client.force_login(world.bob)
    response = client.get(f"/teams/{world.admissions.pk}/events/new/")
    choices = {inbox.pk for inbox in response.context["form"].fields["inbox"].queryset}
    assert choices == {world.shared.pk}  # not Alice's personal line, not Financial Aid's
    for inbox in (world.alice_personal, world.charlie_inbox):
        data = form_data(world, inbox=inbox.pk)
        response = client.post(f"/teams/{world.admissions.pk}/events/new/", data)
        assert response.status_code == 422
    assert not Event.objects.exists()


def test_two_events_of_a_team_cannot_share_a_name(world, client):
    make_event(world, "Open Day")
    client.force_login(world.alice)
    response = client.post(
        f"/teams/{world.admissions.pk}/events/new/", form_data(world, name="open day")
    )
    assert response.status_code == 422
    assert "There is already an event called 'open day'." in response.context["form"].errors["name"]


def test_an_event_is_edited_and_the_change_audited(world, client):
    event = make_event(world)
    client.force_login(world.alice)
    response = client.post(
        event_url(event, "edit/"), form_data(world, name="Open Day (spring)", location="Gym")
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.name, event.location) == ("Open Day (spring)", "Gym")
    audit = AuditEvent.objects.get(action="event.saved")
    assert audit.data["event_id"] == event.pk
    assert "location" in audit.data["changed"]


def test_lowering_capacity_below_the_confirmed_is_allowed_with_a_warning(world, client):
    event = make_event(world, capacity=5)
    for n in range(3):
        invite(event, n, Status.CONFIRMED)
    client.force_login(world.alice)
    response = client.post(event_url(event, "edit/"), form_data(world, capacity="2"), follow=True)
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.capacity == 2
    assert Invitation.objects.filter(event=event, status=Status.CONFIRMED).count() == 3
    assert response.context["over_capacity"] == 1
    assert "3 are confirmed but the event has 2 places" in response.content.decode()


# --- Who sees what ------------------------------------------------------------------------


def test_charlie_never_sees_admissions_events(world, client):
    event = make_event(world)
    invitation = invite(event, 1)
    client.force_login(world.charlie)
    team = world.admissions.pk
    for url in (
        f"/teams/{team}/events/",
        f"/teams/{team}/events/new/",
        event_url(event),
        event_url(event, "edit/"),
        event_url(event, "tallies/"),
        event_url(event, "export.csv"),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(event_url(event, "follow-up/"), {"group": "invited"}).status_code == 404
    url = event_url(event, f"invitations/{invitation.pk}/")
    assert client.post(url, {"status": "confirmed"}).status_code == 404
    # Nor through his own team's address.
    assert client.get(f"/teams/{world.financial_aid.pk}/events/{event.pk}/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Status.INVITED
    assert not Segment.objects.exists()
    assert not AuditEvent.objects.filter(actor=world.charlie).exists()


def test_an_event_of_an_inbox_a_member_cannot_open_is_hidden_from_them(world, client):
    private = make_event(world, "Alice's coffee", inbox=world.alice_personal)
    shared = make_event(world, "Open Day")
    client.force_login(world.bob)
    response = client.get(f"/teams/{world.admissions.pk}/events/")
    assert [row.event for row in response.context["upcoming"]] == [shared]
    assert client.get(event_url(private)).status_code == 404
    client.force_login(world.alice)
    response = client.get(f"/teams/{world.admissions.pk}/events/")
    assert {row.event for row in response.context["upcoming"]} == {private, shared}


# --- The list -----------------------------------------------------------------------------


def test_the_list_shows_upcoming_events_soonest_first_then_past_ones_with_tallies(world, client):
    later = make_event(world, "Later", days=20)
    sooner = make_event(world, "Sooner", days=2)
    past = make_event(world, "Past", days=-5)
    older = make_event(world, "Older", days=-30)
    invite(sooner, 1, Status.CONFIRMED)
    invite(sooner, 2, Status.DECLINED)
    invite(sooner, 3)
    client.force_login(world.bob)
    response = client.get(f"/teams/{world.admissions.pk}/events/")
    assert [r.event for r in response.context["upcoming"]] == [sooner, later]
    assert [r.event for r in response.context["past"]] == [past, older]
    tallies = response.context["upcoming"][0].tallies
    assert (tallies.invited, tallies.confirmed, tallies.declined, tallies.no_answer) == (3, 1, 1, 1)
    page = response.content.decode()
    assert "New event" in page
    assert f'href="/teams/{world.admissions.pk}/events/"' in page  # the sub-navigation


# --- The event page -----------------------------------------------------------------------


def an_event_with_every_answer(world) -> Event:
    event = make_event(world, capacity=10)
    invite(event, 1, Status.CONFIRMED)
    invite(event, 2, Status.CONFIRMED, consent=Contact.Consent.OPTED_OUT)
    invite(event, 3, Status.DECLINED)
    invite(event, 4, Status.WAITLISTED)
    invite(event, 5, Status.OFFERED)
    invite(event, 6)
    invite(event, 7, consent=Contact.Consent.OPTED_OUT)
    return event


def test_the_tallies_count_every_answer_and_who_opted_out(world, client):
    event = an_event_with_every_answer(world)
    client.force_login(world.bob)
    response = client.get(event_url(event))
    t = response.context["tallies"]
    assert (t.invited, t.confirmed, t.declined, t.waitlisted, t.offered, t.no_answer) == (
        7,
        2,
        1,
        1,
        1,
        2,
    )
    assert t.opted_out == 2
    page = response.content.decode()
    assert f'data-live-url="{event_url(event, "tallies/")}"' in page
    assert f'data-live-topic="event-{event.pk}"' in page
    fragment = client.get(event_url(event, "tallies/"))
    assert fragment.status_code == 200
    assert 'id="event-tallies"' in fragment.content.decode()


@pytest.mark.parametrize(
    ("status_filter", "expected"),
    [
        ("all", {1, 2, 3, 4, 5, 6, 7}),
        ("confirmed", {1, 2}),
        ("declined", {3}),
        ("waitlisted", {4}),
        ("offered", {5}),
        ("invited", {6, 7}),
        ("opted_out", {2, 7}),
        ("nonsense", {1, 2, 3, 4, 5, 6, 7}),
    ],
)
def test_the_invitations_are_filtered_by_answer(world, client, status_filter, expected):
    event = an_event_with_every_answer(world)
    client.force_login(world.bob)
    response = client.get(event_url(event), {"status": status_filter})
    shown = {int(i.contact.first_name.removeprefix("Student")) for i in response.context["rows"]}
    assert shown == expected


def test_the_invitations_are_paged_by_fifty_and_link_to_the_contact(world, client):
    event = make_event(world)
    for n in range(55):
        invite(event, n)
    client.force_login(world.bob)
    first = client.get(event_url(event))
    assert len(first.context["rows"]) == 50
    second = client.get(event_url(event), {"page": "2"})
    assert len(second.context["rows"]) == 5
    contact = second.context["rows"][0].contact
    assert f'href="/teams/{world.admissions.pk}/contacts/{contact.pk}/"' in second.content.decode()


def test_the_chart_draws_the_standing_answers_over_time(world, client):
    event = make_event(world)
    client.force_login(world.bob)
    response = client.get(event_url(event))
    assert response.context["chart"] is None
    assert "starts with the first answer" in response.content.decode()
    invite(event, 1, Status.CONFIRMED)
    invite(event, 2, Status.CONFIRMED)
    invite(event, 3, Status.DECLINED)
    response = client.get(event_url(event))
    chart = response.context["chart"]
    assert [(s["name"], s["last"]) for s in chart["series"]] == [
        ("confirmed", 2),
        ("declined", 1),
        ("waitlisted", 0),
    ]
    page = response.content.decode()
    assert page.count("<polyline") == 3
    assert "2 confirmed, 1 declined, 0 waitlisted now." in page


def test_the_chart_counts_a_change_of_mind_once():
    zone = zoneinfo.ZoneInfo("America/New_York")
    t0 = datetime(2031, 12, 1, 9, 30, tzinfo=zone)
    changes = [
        (1, "confirmed", t0),
        (2, "confirmed", t0 + timedelta(minutes=10)),
        (1, "declined", t0 + timedelta(hours=2)),
    ]
    starts, ends, each = buckets_for(t0, t0 + timedelta(hours=3), zone)
    assert each == "hour"
    assert starts[0] == datetime(2031, 12, 1, 9, 0, tzinfo=zone)
    points = standing(changes, ends)
    assert [p.get("confirmed", 0) for p in points] == [2, 2, 1, 1]
    assert [p.get("declined", 0) for p in points] == [0, 0, 1, 1]
    _, _, each = buckets_for(t0, t0 + timedelta(days=10), zone)
    assert each == "day"


def test_the_event_page_costs_the_same_few_queries_for_5_or_60_invitations(
    world, client, django_assert_max_num_queries
):
    event = make_event(world, capacity=100)
    for n in range(5):
        invite(event, n, [Status.CONFIRMED, Status.DECLINED, Status.INVITED][n % 3])
    client.force_login(world.bob)
    client.get(event_url(event))  # warm up caches that are not per request
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(event_url(event)).status_code == 200
    for n in range(5, 60):
        invite(event, n, [Status.CONFIRMED, Status.DECLINED, Status.INVITED][n % 3])
    with CaptureQueriesContext(connection) as many:
        assert client.get(event_url(event)).status_code == 200
    assert len(many) == len(few)
    with django_assert_max_num_queries(15):
        client.get(event_url(event))
    with django_assert_max_num_queries(10):
        client.get(event_url(event, "tallies/"))


# --- Staff answers ------------------------------------------------------------------------


def test_staff_set_an_answer_and_it_is_audited(world, client):
    event = make_event(world)
    invitation = invite(event, 1)
    client.force_login(world.bob)
    url = event_url(event, f"invitations/{invitation.pk}/")
    response = client.post(url, {"status": "confirmed", "filter": "invited", "page": "1"})
    assert response.status_code == 302
    assert response["Location"] == event_url(event) + "?status=invited"
    invitation.refresh_from_db()
    assert invitation.status == Status.CONFIRMED
    change = invitation.changes.get()
    assert (change.cause, change.actor) == ("staff", world.bob)
    audit = AuditEvent.objects.get(action="event.answer_changed")
    assert (audit.actor, audit.data["status_from"], audit.data["status_to"]) == (
        world.bob,
        "invited",
        "confirmed",
    )


def test_staff_cannot_confirm_someone_when_the_event_is_full(world, client):
    event = make_event(world, capacity=1)
    invite(event, 1, Status.CONFIRMED)
    waiting = invite(event, 2, Status.WAITLISTED)
    client.force_login(world.bob)
    url = event_url(event, f"invitations/{waiting.pk}/")
    response = client.post(url, {"status": "confirmed"}, follow=True)
    waiting.refresh_from_db()
    assert waiting.status == Status.WAITLISTED
    assert "Open Day is full" in response.content.decode()
    assert not AuditEvent.objects.filter(action="event.answer_changed").exists()


def test_staff_cannot_set_an_offer_by_hand_nor_touch_another_events_invitation(world, client):
    event = make_event(world)
    other = make_event(world, "Other")
    invitation = invite(event, 1)
    elsewhere = invite(other, 2)
    client.force_login(world.bob)
    response = client.post(
        event_url(event, f"invitations/{invitation.pk}/"), {"status": "offered"}, follow=True
    )
    assert "Staff can set an answer to" in response.content.decode()
    assert (
        client.post(
            event_url(event, f"invitations/{elsewhere.pk}/"), {"status": "declined"}
        ).status_code
        == 404
    )
    assert {i.status for i in Invitation.objects.all()} == {Status.INVITED}


# --- CSV ----------------------------------------------------------------------------------


def test_the_csv_is_formula_safe_filtered_and_audited(world, client):
    event = make_event(world)
    invite(event, 1, Status.CONFIRMED, last_name="=HYPERLINK(1)")
    invite(event, 2, Status.DECLINED, last_name="Lee")
    client.force_login(world.bob)
    response = client.get(event_url(event, "export.csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="event-{event.pk}-open-day.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:4] == ["phone", "first_name", "last_name", "status"]
    assert [row[:4] for row in rows[1:]] == [
        ["+16175550001", "Student1", "'=HYPERLINK(1)", "confirmed"],
        ["+16175550002", "Student2", "Lee", "declined"],
    ]
    declined = read_csv(client.get(event_url(event, "export.csv"), {"status": "declined"}))
    assert [row[2] for row in declined[1:]] == ["Lee"]
    audits = AuditEvent.objects.filter(action="event.exported").order_by("pk")
    assert [(a.actor, a.data["event_id"], a.data["status"]) for a in audits] == [
        (world.bob, event.pk, "all"),
        (world.bob, event.pk, "declined"),
    ]


# --- Follow-up ----------------------------------------------------------------------------


def test_a_follow_up_to_those_with_no_answer_makes_a_list_and_opens_compose(world, client):
    event = make_event(world)
    quiet = [invite(event, 1), invite(event, 2)]
    invite(event, 3, Status.CONFIRMED)
    client.force_login(world.bob)
    response = client.post(event_url(event, "follow-up/"), {"group": "invited"})
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.kind == Segment.Kind.DYNAMIC
    assert segment.name == "Open Day — no answer"
    assert set(contacts_in(segment)) == {i.contact for i in quiet}
    # Evaluated when the text goes out: whoever answers meanwhile is not nudged.
    answer(quiet[0], yes=True)
    assert set(contacts_in(segment)) == {quiet[1].contact}
    location = urlparse(response["Location"])
    assert location.path == "/compose/"
    params = parse_qs(location.query)
    assert params["inbox"] == [str(world.shared.pk)]
    assert params["segments"] == [str(segment.pk)]
    assert params["event"] == [str(event.pk)]
    when = event_values(event)["when"]
    assert params["body"] == [
        f"Hi {{first_name|there}}! You're invited to Open Day on {when} at Great Hall. "
        "Reply YES to come or NO if you can't."
    ]
    audit = AuditEvent.objects.get(action="segment.saved")
    assert (audit.actor, audit.data["segment_id"], audit.data["group"]) == (
        world.bob,
        segment.pk,
        "invited",
    )
    # Compose opens with all of it chosen.
    compose = client.get(response["Location"])
    assert compose.status_code == 200


def test_a_reminder_goes_to_the_confirmed(world, client):
    event = make_event(world)
    confirmed = invite(event, 1, Status.CONFIRMED)
    invite(event, 2, Status.DECLINED)
    client.force_login(world.bob)
    response = client.post(event_url(event, "follow-up/"), {"group": "confirmed"})
    segment = Segment.objects.get()
    assert list(contacts_in(segment)) == [confirmed.contact]
    body = parse_qs(urlparse(response["Location"]).query)["body"][0]
    when = event_values(event)["when"]
    assert body == f"Reminder: Open Day is on {when}, at Great Hall. Reply NO if you can't come."
    # A reminder scheduled for tomorrow reaches whoever confirms until then.
    late = invite(event, 4)
    answer(late, yes=True)
    assert set(contacts_in(segment)) == {confirmed.contact, late.contact}
    # Following up on the same group again uses the same segment.
    again = client.post(event_url(event, "follow-up/"), {"group": "confirmed"})
    assert Segment.objects.count() == 1
    assert parse_qs(urlparse(again["Location"]).query)["segments"] == [str(segment.pk)]


def test_an_unknown_follow_up_group_makes_nothing(world, client):
    event = make_event(world)
    client.force_login(world.bob)
    response = client.post(event_url(event, "follow-up/"), {"group": "offered"})
    assert response.status_code == 302
    assert not Segment.objects.exists()


def test_invite_people_opens_compose_with_the_invitation(world, client):
    event = make_event(world)
    client.force_login(world.bob)
    response = client.get(event_url(event))
    location = urlparse(response.context["invite_url"])
    params = parse_qs(location.query)
    assert location.path == "/compose/"
    assert (params["inbox"], params["event"]) == ([str(world.shared.pk)], [str(event.pk)])
    assert "segments" not in params
    assert params["body"][0].startswith("Hi {first_name|there}! You're invited to Open Day on ")


def test_filling_event_fields_leaves_contact_fields_and_literal_braces_as_written(world):
    event = make_event(world, "Gala {2031}", location="")
    text = "{first_name}, {event} {{at}} {location} {when|soon}. {owner_name|us}"
    when = event_values(event)["when"]
    assert fill_event_fields(text, event) == (
        f"{{first_name}}, Gala {{{{2031}}}} {{{{at}}}} {when}. {{owner_name|us}}"
    )


def test_answers_by_reply_are_counted_on_the_page(world, client):
    event = make_event(world)
    invitation = invite(event, 1)
    answer(invitation, yes=True)
    client.force_login(world.bob)
    assert client.get(event_url(event, "tallies/")).context["tallies"].confirmed == 1
