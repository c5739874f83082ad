"""A send's report: totals, failures, replies, exclusions, the chart, the recipient table and
its CSV, pause/resume/cancel, the header's indicator, and who may see any of it."""

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from textdesk.accounts.models import Membership, Team
from textdesk.campaigns import actions
from textdesk.campaigns.expansion import expand_batch
from textdesk.campaigns.models import Send
from textdesk.campaigns.report import (
    PAGE_SIZE,
    Problem,
    active_sends,
    recipient_rows,
    timeline,
    totals,
)
from textdesk.compliance.models import AuditEvent
from textdesk.contacts.models import Contact, Segment
from textdesk.conversations.models import Message
from textdesk.testing import create_contact, drain, receive_text


@pytest.fixture(autouse=True)
def _window_always_open(world):
    """Bulk texts may go out at any hour in these tests."""
    world.shared.window_start, world.shared.window_end = time(0, 0), time(23, 59, 59)
    world.shared.save()
    world.alice_personal.window_start, world.alice_personal.window_end = time(0), time(23, 59, 59)
    world.alice_personal.save()


def audience(team, count: int, *, prefix: str = "+1617200", **fields) -> Segment:
    segment = Segment.objects.create(team=team, name=f"List {prefix} {count}", kind="static")
    contacts = [
        create_contact(team, f"{prefix}{n:04d}", first_name=f"Stu{n}", **fields)
        for n in range(count)
    ]
    segment.members.add(*contacts)
    return segment


def start(user, inbox, segment, body: str = "Hi {first_name}, open day is Saturday!") -> Send:
    return actions.create_send(
        user,
        inbox=inbox,
        phone_number=inbox.phone_numbers.get(),
        segments=[segment],
        body=body,
        confirmed=True,
    )


def sent_and_done(world, count: int = 5, **kwargs) -> Send:
    send = start(world.alice, world.shared, audience(world.admissions, count, **kwargs))
    drain()
    send.refresh_from_db()
    return send


def read_csv(response) -> list[list[str]]:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return list(csv.reader(io.StringIO(async_to_sync(collect)().decode())))


# --- Totals -------------------------------------------------------------------------------


def test_the_totals_count_what_happened_to_every_text(world, client):
    send = sent_and_done(world, 5)
    assert send.status == "done"
    counted = totals(send)
    assert (counted.planned, counted.queued, counted.sent) == (5, 0, 0)
    assert (counted.delivered, counted.undelivered, counted.failed) == (5, 0, 0)
    assert (counted.replied, counted.opted_out_since, counted.percent_done) == (0, 0, 100)
    assert counted.problems == []
    assert counted.excluded == []

    client.force_login(world.bob)
    html = client.get(f"/sends/{send.pk}/").content.decode()
    assert '<dt>Delivered</dt><dd class="status">5</dd>' in html
    assert "100% done · 5 of 5 recipients handled" in html
    assert "Finished" in html


def test_a_running_send_shows_its_progress_and_when_it_should_be_done(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 10))
    expand_batch(send, 100, timezone.now())
    Message.objects.filter(pk__in=Message.objects.filter(send=send).values("pk")[:4]).update(
        status="sent", sent_at=timezone.now()
    )
    send.refresh_from_db()
    counted = totals(send)
    assert (counted.queued, counted.sent, counted.percent_done) == (6, 4, 40)
    client.force_login(world.alice)
    html = client.get(f"/sends/{send.pk}/").content.decode()
    assert 'value="40"' in html
    assert "done around" in html
    assert "6 still to go" in html


def test_a_contact_who_opts_out_mid_send_counts_as_failed_and_opted_out(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 5))
    expand_batch(send, 100, timezone.now())
    quitter = Contact.objects.get(phone="+16172000003")
    quitter.consent = Contact.Consent.OPTED_OUT
    quitter.save()
    drain()
    send.refresh_from_db()
    counted = totals(send)
    assert (counted.delivered, counted.failed, counted.opted_out_since) == (4, 1, 1)
    assert counted.problems == [Problem("failed", "21610", "Opted out", 1)]

    client.force_login(world.alice)
    html = client.get(f"/sends/{send.pk}/?status=failed").content.decode()
    assert '<span class="error-code">21610</span>' in html
    assert "Stu3" in html
    assert "Stu2" not in html


def test_undelivered_texts_are_counted_with_the_carriers_reason(world, settings):
    settings.SIMULATOR_FAILURE_RATE = 1
    send = sent_and_done(world, 3)
    counted = totals(send)
    assert (counted.delivered, counted.undelivered) == (0, 3)
    assert counted.problems == [Problem("undelivered", "30003", "Unreachable handset", 3)]


def test_a_text_interrupted_by_cancel_counts_as_cancelled(world):
    send = start(world.alice, world.shared, audience(world.admissions, 4))
    expand_batch(send, 100, timezone.now())
    interrupted = Message.objects.filter(send=send).order_by("pk").first()
    Message.objects.filter(pk=interrupted.pk).update(handoff_started_at=timezone.now())
    assert actions.cancel_send(world.alice, send) == 3
    send.refresh_from_db()
    counted = totals(send)
    assert (counted.queued, counted.failed, counted.not_sent) == (0, 1, 3)
    assert counted.problems[0].code == "cancelled"
    assert counted.problems[0].label.startswith("Cancelled while being handed over")


def test_replies_count_once_per_conversation(world, client):
    send = sent_and_done(world, 3)
    receive_text(world.shared, "Yes!", sender="+16172000001")
    receive_text(world.shared, "Where is it?", sender="+16172000001")
    receive_text(world.shared, "Count me in", sender="+16172000002")
    assert totals(send).replied == 2
    assert sum(bucket.replies for bucket in timeline(send)) == 3
    replied = recipient_rows(send, "replied")
    assert [row.phone for row in replied] == ["+16172000001", "+16172000002"]
    assert [row.replied for row in recipient_rows(send)] == [False, True, True]


def test_people_who_got_no_text_are_shown_with_the_reason(world, client):
    segment = audience(world.admissions, 3)
    out, landline = segment.members.order_by("pk")[1:]
    out.consent = Contact.Consent.OPTED_OUT
    out.save()
    landline.phone = "+442079460000"
    landline.save()
    send = start(world.alice, world.shared, segment)
    drain()
    send.refresh_from_db()
    counted = totals(send)
    assert [(e.reason, e.count) for e in counted.excluded] == [
        ("invalid_number", 1),
        ("opted_out", 1),
    ]
    assert (counted.delivered, counted.percent_done) == (1, 100)

    client.force_login(world.alice)
    html = client.get(f"/sends/{send.pk}/").content.decode()
    assert "<tr><td>Opted out</td><td>1</td></tr>" in html
    assert "<tr><td>Number cannot get texts</td><td>1</td></tr>" in html
    rows = recipient_rows(send, "excluded")
    assert [(row.display_name, row.status, row.error_code) for row in rows] == [
        ("Stu1", "excluded", "opted_out"),
        ("Stu2", "excluded", "invalid_number"),
    ]
    listed = client.get(f"/sends/{send.pk}/?status=excluded").content.decode()
    assert "Number cannot get texts:" in listed  # with the detail of why


# --- The chart ----------------------------------------------------------------------------


def test_the_chart_draws_one_bar_group_per_bucket(world, client):
    send = sent_and_done(world, 4)
    start_at = datetime(2026, 3, 2, 15, 0, 10, tzinfo=UTC)  # 10:00 in Boston
    offsets = [0, 1, 12, 13]  # minutes after it
    for message, minutes in zip(
        Message.objects.filter(send=send).order_by("pk"), offsets, strict=True
    ):
        moment = start_at + timedelta(minutes=minutes)
        Message.objects.filter(pk=message.pk).update(
            sent_at=moment, delivered_at=moment + timedelta(seconds=30)
        )
    reply = receive_text(world.shared, "See you", sender="+16172000000")
    Message.objects.filter(pk=reply.pk).update(created_at=start_at + timedelta(minutes=11))

    five = timeline(send, 5)
    assert [b.start for b in five] == [
        datetime(2026, 3, 2, 15, 0, tzinfo=UTC) + timedelta(minutes=m) for m in (0, 5, 10)
    ]
    assert [(b.sent, b.delivered, b.replies) for b in five] == [(2, 2, 0), (0, 0, 0), (2, 2, 1)]

    automatic = timeline(send)
    assert len(automatic) == 14
    assert automatic[0].minutes == 1
    client.force_login(world.alice)
    html = client.get(f"/sends/{send.pk}/").content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('<g class="bucket">') == 14
    assert svg.count('class="bar-sent"') == 14
    assert "Mar 2, 10:11 a.m.: 0 sent, 0 delivered, 1 reply" in svg
    assert not re.search(r'<script[^>]+src="(https?:)?//', html)  # nothing from elsewhere


def test_a_send_that_has_not_sent_anything_has_no_chart_yet(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 2))
    assert timeline(send) == []
    client.force_login(world.alice)
    html = client.get(f"/sends/{send.pk}/progress/").content.decode()
    assert "<svg" not in html
    assert "starts with the first text" in html


# --- Recipients ---------------------------------------------------------------------------


def test_the_recipient_table_costs_the_same_queries_however_many_recipients(world, client):
    few = sent_and_done(world, 3)
    receive_text(world.shared, "Thanks", sender="+16172000001")
    many = start(
        world.alice, world.shared, audience(world.admissions, PAGE_SIZE + 10, prefix="+1617300")
    )
    drain()
    for n in range(0, PAGE_SIZE, 7):
        receive_text(world.shared, "Thanks", sender=f"+1617300{n:04d}")
    client.force_login(world.alice)

    def queries_for(send: Send, query: str = "") -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/sends/{send.pk}/{query}")
            assert response.status_code == 200
        return len(captured)

    queries_for(few)  # the first page of a session also remembers the time zone
    assert queries_for(few) == queries_for(many) == queries_for(many, "?page=2")
    assert queries_for(many, "?status=replied") == queries_for(few, "?status=replied")

    with CaptureQueriesContext(connection) as captured:
        rows = list(recipient_rows(many, "all", 1))
    assert len(rows) == PAGE_SIZE
    assert len(captured) == 2  # the count and the page


def test_the_csv_lists_every_recipient_with_what_happened(world, client):
    segment = audience(world.admissions, 2)
    formula = create_contact(world.admissions, "+16172000009", first_name="=HYPERLINK(1)")
    out = create_contact(world.admissions, "+16172000008", first_name="Out", consent="opted_out")
    segment.members.add(formula, out)
    send = start(world.alice, world.shared, segment)
    drain()
    receive_text(world.shared, "Sure", sender="+16172000001")
    client.force_login(world.bob)

    response = client.get(f"/sends/{send.pk}/recipients.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        f'filename="send-{send.pk}-hi-first_name-open-day-is-saturday.csv"'
        in (response["Content-Disposition"])
    )
    rows = read_csv(response)
    assert rows[0] == [
        "number",
        "name",
        "status",
        "error_code",
        "error",
        "sent_at",
        "delivered_at",
        "replied",
    ]
    by_number = {row[0]: row for row in rows[1:]}
    assert len(by_number) == 4
    assert by_number["+16172000001"][1:5] == ["Stu1", "delivered", "", ""]
    assert by_number["+16172000001"][7] == "yes"
    assert by_number["+16172000000"][7] == "no"
    assert by_number["+16172000009"][1] == "'=HYPERLINK(1)"  # never run as a formula
    assert by_number["+16172000008"][1:5] == ["Out", "excluded", "opted_out", "Opted out"]
    sent_at = datetime.fromisoformat(by_number["+16172000000"][5])
    assert sent_at.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))  # Boston's time
    assert AuditEvent.objects.filter(action="send.exported", actor=world.bob).exists()

    failed_only = read_csv(client.get(f"/sends/{send.pk}/recipients.csv?status=excluded"))
    assert [row[0] for row in failed_only[1:]] == ["+16172000008"]


# --- Pause, resume, cancel ----------------------------------------------------------------


def test_pause_resume_and_cancel_work_and_are_audited(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 5))
    client.force_login(world.bob)
    report_url = f"/sends/{send.pk}/"
    assert "Pause</button>" in client.get(report_url).content.decode()

    response = client.post(f"/sends/{send.pk}/pause/")
    assert (response.status_code, response["Location"]) == (302, report_url)
    send.refresh_from_db()
    assert send.status == "paused"
    page = client.get(report_url).content.decode()
    assert "Paused: nothing more goes out until you resume it." in page
    assert "Resume</button>" in page
    assert "Pause</button>" not in page

    assert client.post(f"/sends/{send.pk}/resume/").status_code == 302
    send.refresh_from_db()
    assert send.status == "sending"

    response = client.post(f"/sends/{send.pk}/cancel/", headers={"HX-Request": "true"})
    assert (response.status_code, response["HX-Redirect"]) == (200, report_url)
    send.refresh_from_db()
    assert send.status == "cancelled"
    audited = AuditEvent.objects.filter(actor=world.bob, data__send_id=send.pk)
    assert sorted(audited.values_list("action", flat=True)) == [
        "send.cancelled",
        "send.paused",
        "send.resumed",
    ]

    page = client.post(f"/sends/{send.pk}/cancel/", follow=True).content.decode()
    assert "This send is over; there is nothing to cancel." in page
    page = client.post(f"/sends/{send.pk}/pause/", follow=True).content.decode()
    assert "It was not sending, so there was nothing to pause." in page
    assert "Cancel send</button>" not in page


def test_the_buttons_only_take_posts(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 2))
    client.force_login(world.alice)
    for action in ("pause", "resume", "cancel"):
        assert client.get(f"/sends/{send.pk}/{action}/").status_code == 405
    assert client.post(f"/sends/{send.pk}/").status_code == 405
    assert client.post(f"/sends/{send.pk}/recipients.csv").status_code == 405
    send.refresh_from_db()
    assert send.status == "sending"


# --- Access -------------------------------------------------------------------------------


def test_someone_without_the_inbox_gets_404_everywhere(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 3))
    client.force_login(world.charlie)
    for path in ("", "progress/", "recipients.csv", "?status=failed"):
        assert client.get(f"/sends/{send.pk}/{path}").status_code == 404, path
    for action in ("pause", "cancel", "resume"):
        assert client.post(f"/sends/{send.pk}/{action}/").status_code == 404, action
    send.refresh_from_db()
    assert send.status == "sending"
    assert not AuditEvent.objects.filter(actor=world.charlie).exists()
    client.force_login(world.alice)
    assert client.get(f"/sends/{send.pk + 1000}/").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 1))
    for path in (f"/sends/{send.pk}/", f"/sends/{send.pk}/recipients.csv", "/sends/airplane/"):
        response = client.get(path)
        assert response.status_code == 302
        assert "login" in response["Location"]


def test_a_personal_inbox_send_is_its_owners_only(world, client):
    send = start(world.alice, world.alice_personal, audience(world.admissions, 1))
    client.force_login(world.bob)
    assert client.get(f"/sends/{send.pk}/").status_code == 404
    assert client.post(f"/sends/{send.pk}/pause/").status_code == 404


# --- Live fragments and the header indicator ----------------------------------------------


def test_the_live_fragments_say_what_to_listen_to(world, client):
    send = start(world.alice, world.shared, audience(world.admissions, 2))
    client.force_login(world.alice)
    progress = client.get(f"/sends/{send.pk}/progress/").content.decode()
    assert progress.startswith(
        f'<section id="send-progress" class="stack send-progress" '
        f'data-live-url="/sends/{send.pk}/progress/" data-live-topic="send-{send.pk}">'
    )
    page = client.get(f"/sends/{send.pk}/").content.decode()
    assert 'id="send-progress"' in page
    airplane = client.get("/sends/airplane/").content.decode()
    assert airplane.startswith(
        '<div id="airplane" class="airplane" data-live-url="/sends/airplane/" '
        'data-live-inbox="*" data-live-kinds="send">'
    )


def airplane_links(client) -> list[str]:
    html = client.get("/sends/airplane/").content.decode()
    return re.findall(r'<a href="/sends/(\d+)/"', html)


def test_the_airplane_lists_only_sends_in_progress_the_user_may_see(world, client):
    finished = sent_and_done(world, 2)
    shared = start(world.alice, world.shared, audience(world.admissions, 3, prefix="+1617300"))
    personal = start(
        world.alice, world.alice_personal, audience(world.admissions, 3, prefix="+1617400")
    )
    actions.pause_send(world.alice, personal)
    charlies = start(
        world.charlie, world.charlie_inbox, audience(world.financial_aid, 2, prefix="+1617500")
    )
    scheduled = actions.create_send(
        world.alice,
        inbox=world.shared,
        phone_number=world.shared.phone_numbers.get(),
        segments=[Segment.objects.get(name="List +1617300 3")],
        body="Later",
        scheduled_at=timezone.now() + timedelta(days=1),
    )

    client.force_login(world.alice)
    assert airplane_links(client) == [str(shared.pk), str(personal.pk)]
    html = client.get("/sends/airplane/").content.decode()
    assert "Paused" in html
    client.force_login(world.bob)
    assert airplane_links(client) == [str(shared.pk)]
    client.force_login(world.charlie)
    assert airplane_links(client) == [str(charlies.pk)]
    assert finished.pk not in [a.send.pk for a in active_sends(world.alice)]
    assert scheduled.pk not in [a.send.pk for a in active_sends(world.alice)]


def test_the_airplane_shows_how_far_each_send_got(world):
    segment = audience(world.admissions, 9)
    create_contact(world.admissions, "+16172000099", consent="opted_out")
    segment.members.add(Contact.objects.get(phone="+16172000099"))
    send = start(world.alice, world.shared, segment)
    expand_batch(send, 100, timezone.now())
    first_three = Message.objects.filter(send=send).order_by("pk").values("pk")[:3]
    Message.objects.filter(pk__in=first_three).update(status="delivered")
    with CaptureQueriesContext(connection) as captured:
        [progress] = active_sends(world.bob)
    assert (progress.done, progress.planned, progress.percent_done) == (4, 10, 40)
    assert len(captured) == 1


def test_the_empty_airplane_is_still_there_to_be_refreshed(world, client):
    client.force_login(world.bob)
    html = client.get("/sends/airplane/").content.decode()
    assert 'id="airplane"' in html
    assert "<li" not in html


# --- Presentation -------------------------------------------------------------------------


def test_times_show_in_the_teams_zone_whatever_the_viewers_first_team(world, client):
    world.admissions.time_zone = "America/Los_Angeles"
    world.admissions.save()
    first_by_name = Team.objects.create(name="A-Team", time_zone="America/New_York")
    Membership.objects.create(team=first_by_name, user=world.alice)
    send = sent_and_done(world, 1)
    moment = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
    Send.objects.filter(pk=send.pk).update(started_at=moment, finished_at=moment)
    Message.objects.filter(send=send).update(sent_at=moment, delivered_at=moment)
    client.force_login(world.alice)
    client.get("/simulator/")  # the session remembers A-Team's zone for other pages
    html = client.get(f"/sends/{send.pk}/").content.decode()
    assert "Mar 2, 9:30 a.m." in html  # 17:30 UTC in Los Angeles
    assert "12:30 p.m." not in html  # not New York


def test_what_contacts_and_senders_wrote_is_escaped(world, client):
    segment = audience(world.admissions, 1, last_name="<b>Bold</b>")
    send = start(world.alice, world.shared, segment, body="Hi <i>{first_name}</i>")
    drain()
    client.force_login(world.alice)
    html = client.get(f"/sends/{send.pk}/").content.decode()
    assert "<b>Bold</b>" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "<i>{first_name}" not in html
    assert "Hi &lt;i&gt;{first_name}&lt;/i&gt;" in html
