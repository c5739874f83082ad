"""The audit trail and the opt-out history: what admins see, how they filter it, the CSV
exports (formula-safe, and audited themselves), and a bounded number of queries per page."""

import csv
import io
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from textdesk.compliance import audit
from textdesk.compliance.audit_queries import SENT
from textdesk.compliance.consent import opt_out_by_hand
from textdesk.compliance.models import AuditEvent, ConsentChange
from textdesk.contacts.models import Contact
from textdesk.conversations import locks
from textdesk.conversations.actions import send_reply
from textdesk.testing import STUDENT_NUMBER, create_contact, create_conversation, receive_text

OTHER_NUMBER = "+16175550177"


def audit_url(world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/teams/{world.admissions.pk}/audit/?{query}"


def opt_outs_url(world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/teams/{world.admissions.pk}/opt-outs/?{query}"


def shown(response) -> list[str]:
    return [row.action for row in response.context["rows"]]


def read_csv(response) -> list[list[str]]:
    """The exports stream asynchronously (they are served by an ASGI server)."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return list(csv.reader(io.StringIO(async_to_sync(collect)().decode())))


def at(event: AuditEvent | ConsentChange, moment: datetime) -> None:
    """Move a row to ``moment`` (test data: the pages filter by when things happened)."""
    type(event).objects.filter(pk=event.pk).update(created_at=moment)


# --- The audit trail -----------------------------------------------------------------------


def test_an_admin_sees_the_events_of_their_team_only(world, client):
    conversation = create_conversation(world.shared)
    locks.open_conversation(world.bob, conversation, "tab-1")
    locks.take_over(world.alice, conversation)
    opt_out_by_hand(world.alice, conversation.contact, "Asked on the phone")
    theirs = create_conversation(world.charlie_inbox)
    locks.open_conversation(world.charlie, theirs, "tab-1")
    audit.record("settings.team_compliance", actor=world.charlie, team_id=world.financial_aid.pk)

    client.force_login(world.alice)
    response = client.get(audit_url(world))

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(row.action, row.actor) for row in rows] == [
        ("consent.opted_out", "Alice Archer"),
        ("lock.taken_over", "Alice Archer"),
        ("lock.acquired", "Alice Archer"),
        ("lock.acquired", "Bob Baker"),
    ]
    assert {row.contact for row in rows} == {conversation.contact}
    assert rows[3].inbox == "Admissions"
    assert "Asked on the phone" in rows[0].details
    page = response.content.decode()
    assert "Took over a conversation" in page
    assert "Charlie" not in page


def test_details_read_as_words(world, client):
    conversation = create_conversation(world.shared)
    locks.open_conversation(world.bob, conversation, "tab-1")
    locks.take_over(world.alice, conversation)
    receive_text(world.alice_personal, "STOP", sender=OTHER_NUMBER)
    audit.record(
        "settings.team_compliance",
        actor=world.alice,
        team_id=world.admissions.pk,
        changed={"help_reply": {"from": "Old", "to": "New"}},
    )
    client.force_login(world.alice)

    rows = {row.action: row for row in client.get(audit_url(world)).context["rows"]}

    assert rows["lock.taken_over"].details == "previous holder: Bob Baker"
    stop = rows["consent.opted_out"]
    assert stop.actor == "The contact (by text)"
    assert stop.details == "cause: keyword; scope: team, personal; detail: STOP"
    assert stop.contact.phone == OTHER_NUMBER
    assert rows["settings.team_compliance"].details == 'changed: help reply "Old" → "New"'


def test_filters_narrow_by_action_person_inbox_dates_and_words(world, client):
    world.admissions.time_zone = "America/Los_Angeles"
    world.admissions.save()
    conversation = create_conversation(world.shared)
    mine = create_conversation(world.alice_personal)
    locks.open_conversation(world.bob, conversation, "tab-1")
    at(AuditEvent.objects.get(actor=world.bob), datetime(2026, 3, 10, 6, 30, tzinfo=UTC))
    locks.open_conversation(world.alice, mine, "tab-2")
    at(AuditEvent.objects.get(actor=world.alice), datetime(2026, 3, 10, 9, tzinfo=UTC))
    saved = audit.record(
        "template.saved", actor=world.alice, team_id=world.admissions.pk, name="Fall"
    )
    at(saved, datetime(2026, 3, 11, 9, tzinfo=UTC))
    client.force_login(world.alice)

    assert shown(client.get(audit_url(world, action="lock.acquired"))) == ["lock.acquired"] * 2
    assert shown(client.get(audit_url(world, action="lock.*"))) == ["lock.acquired"] * 2
    assert shown(client.get(audit_url(world, action="template.*"))) == ["template.saved"]
    assert shown(client.get(audit_url(world, actor=world.alice.pk))) == [
        "template.saved",
        "lock.acquired",
    ]
    by_inbox = client.get(audit_url(world, inbox=world.shared.pk))
    assert [row.actor for row in by_inbox.context["rows"]] == ["Bob Baker"]
    # Days are the team's: Bob's 06:30 UTC was 11:30 pm on March 9 in Los Angeles (PDT).
    march_9 = client.get(audit_url(world, **{"from": "2026-03-09", "to": "2026-03-09"}))
    assert [row.actor for row in march_9.context["rows"]] == ["Bob Baker"]
    march_10 = client.get(audit_url(world, **{"from": "2026-03-10", "to": "2026-03-10"}))
    assert [row.actor for row in march_10.context["rows"]] == ["Alice Archer"]
    assert shown(client.get(audit_url(world, q="fall"))) == ["template.saved"]
    # A date nobody could mean is left out, and said so.
    typo = client.get(audit_url(world, **{"from": "March 9"}))
    assert len(typo.context["rows"]) == 3
    assert "From: enter a date as YYYY-MM-DD" in typo.content.decode()


def test_texts_sent_by_people_show_who_sent_what_to_whom(world, client):
    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "Your application is complete.")
    receive_text(world.shared, "STOP")  # its confirmation is automatic: nobody sent it
    send_reply(world.charlie, create_conversation(world.charlie_inbox), "Financial aid here")
    client.force_login(world.alice)

    response = client.get(audit_url(world, action=SENT))

    [row] = response.context["rows"]
    assert (row.actor, row.details, row.inbox) == (
        "Bob Baker",
        "Your application is complete.",
        "Admissions",
    )
    assert row.contact.phone == STUDENT_NUMBER
    assert shown(client.get(audit_url(world, action=SENT, q="nothing like it"))) == []
    assert shown(client.get(audit_url(world, action=SENT, actor=world.alice.pk))) == []


def test_the_audit_export_has_a_header_and_the_filtered_rows(world, client):
    conversation = create_conversation(world.shared)
    locks.open_conversation(world.bob, conversation, "tab-1")
    audit.record("template.saved", actor=world.alice, team_id=world.admissions.pk, name="Fall")
    audit.record("template.saved", actor=world.charlie, team_id=world.financial_aid.pk)
    client.force_login(world.alice)

    response = client.get(f"/teams/{world.admissions.pk}/audit.csv?action=lock.*")

    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="admissions-audit-')
    rows = read_csv(response)
    assert rows[0] == ["time", "person", "action", "what", "inbox", "contact", "phone", "details"]
    assert [row[1:5] for row in rows[1:]] == [
        ["Bob Baker", "lock.acquired", "Opened a conversation", "Admissions"]
    ]
    assert rows[1][6] == STUDENT_NUMBER
    everything = read_csv(client.get(f"/teams/{world.admissions.pk}/audit.csv"))
    assert [row[2] for row in everything[1:]] == [
        "audit.exported",  # this export, before its first line
        "audit.exported",
        "template.saved",
        "lock.acquired",
    ]


def test_the_exports_go_past_one_chunk_in_order(world, client, monkeypatch):
    monkeypatch.setattr("textdesk.compliance.audit_views.CSV_CHUNK", 2)
    for n in range(5):
        audit.record("template.saved", actor=world.alice, team_id=world.admissions.pk, n=n)
    client.force_login(world.alice)
    rows = read_csv(client.get(f"/teams/{world.admissions.pk}/audit.csv?action=template.saved"))
    assert [row[7] for row in rows[1:]] == [f"n: {n}" for n in (4, 3, 2, 1, 0)]


def test_the_exports_are_formula_safe(world, client):
    contact = create_contact(world.admissions, OTHER_NUMBER, first_name='=HYPERLINK("http://x")')
    opt_out_by_hand(world.alice, contact, "-2+3")
    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "=1+2")
    client.force_login(world.alice)

    events = read_csv(client.get(f"/teams/{world.admissions.pk}/audit.csv?action=consent.*"))
    assert events[1][5] == '\'=HYPERLINK("http://x")'
    assert events[1][6] == OTHER_NUMBER  # a number stays a number
    texts = read_csv(client.get(f"/teams/{world.admissions.pk}/audit.csv?action={SENT}"))
    assert texts[1][7] == "'=1+2"
    history = read_csv(client.get(f"/teams/{world.admissions.pk}/opt-outs.csv"))
    assert history[1][1] == '\'=HYPERLINK("http://x")'
    assert history[1][7] == "'-2+3"


def test_the_exports_are_audited_with_their_filters(world, client):
    client.force_login(world.alice)
    client.get(f"/teams/{world.admissions.pk}/audit.csv?action=lock.*&q=x")
    client.get(f"/teams/{world.admissions.pk}/opt-outs.csv?cause=keyword")

    exported = AuditEvent.objects.filter(actor=world.alice).order_by("id")
    assert [(e.action, e.team_id, e.data) for e in exported] == [
        ("audit.exported", world.admissions.pk, {"filters": {"action": "lock.*", "q": "x"}}),
        ("opt_outs.exported", world.admissions.pk, {"filters": {"cause": "keyword"}}),
    ]


@pytest.mark.parametrize("path", ["audit/", "audit.csv", "opt-outs/", "opt-outs.csv"])
def test_members_get_403_and_outsiders_404(world, client, path):
    client.force_login(world.bob)
    assert client.get(f"/teams/{world.admissions.pk}/{path}").status_code == 403
    client.force_login(world.charlie)
    assert client.get(f"/teams/{world.admissions.pk}/{path}").status_code == 404
    assert not AuditEvent.objects.filter(action__endswith=".exported").exists()


def test_the_audit_trail_costs_the_same_few_queries_however_many_events(
    world, client, django_assert_max_num_queries
):
    client.force_login(world.alice)

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(audit_url(world, **params)).status_code == 200
        return len(captured)

    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "Hi")
    queries()  # the session's first page remembers its time zone: one-off queries
    few, few_texts = queries(), queries(action=SENT)
    for n in range(30):
        other = create_conversation(world.shared, sender=f"+1617555{n:04d}")
        locks.open_conversation(world.alice, other, "tab-1")
        send_reply(world.alice, other, "Hi")
        opt_out_by_hand(world.alice, other.contact, "Asked")
    assert queries() == few
    assert queries(action=SENT) == few_texts
    # About half are the layout's (session, user, sidebar, navigation); the rest the page's.
    with django_assert_max_num_queries(18):
        client.get(audit_url(world))
    with django_assert_max_num_queries(18):
        client.get(audit_url(world, action=SENT))


# --- The opt-out history -------------------------------------------------------------------


def test_the_history_shows_the_teams_changes_and_personal_ones_of_its_contacts(world, client):
    receive_text(world.alice_personal, "STOP")  # the team, and every personal inbox
    receive_text(world.alice_personal, "START")
    receive_text(world.charlie_inbox, "STOP")  # Financial Aid's own contact
    client.force_login(world.alice)

    response = client.get(opt_outs_url(world))

    rows = [change for change, _ in response.context["rows"]]
    assert [(c.scope, c.opted_out, c.cause) for c in rows] == [
        ("personal", False, "keyword"),
        ("team", False, "keyword"),
        ("personal", True, "keyword"),
        ("team", True, "keyword"),
    ]
    assert {c.contact.team_id for c in rows} == {world.admissions.pk}
    assert [by for _, by in response.context["rows"]] == ["The contact (by text)"] * 4
    page = response.content.decode()
    assert "Every personal inbox" in page
    assert "Financial Aid" not in page


def test_the_history_filters_by_cause_status_and_dates(world, client):
    world.admissions.time_zone = "America/Chicago"
    world.admissions.save()
    receive_text(world.shared, "STOP")
    contact = create_contact(world.admissions, OTHER_NUMBER, first_name="Dana")
    opt_out_by_hand(world.bob, contact, "Asked at the fair")
    keyword, by_hand = ConsentChange.objects.order_by("id")
    at(keyword, datetime(2026, 3, 10, 4, tzinfo=UTC))  # 11 pm on Mar 9 in Chicago
    at(by_hand, datetime(2026, 3, 10, 6, tzinfo=UTC))
    client.force_login(world.alice)

    def causes(**params) -> list[str]:
        return [c.cause for c, _ in client.get(opt_outs_url(world, **params)).context["rows"]]

    assert causes() == ["user", "keyword"]
    assert causes(cause="user") == ["user"]
    assert causes(status="in") == []
    assert causes(status="out") == ["user", "keyword"]
    assert causes(**{"from": "2026-03-10"}) == ["user"]
    assert causes(**{"to": "2026-03-09"}) == ["keyword"]
    by = [by for _, by in client.get(opt_outs_url(world, cause="user")).context["rows"]]
    assert by == ["Bob Baker"]


def test_the_history_export_has_every_column(world, client):
    world.admissions.time_zone = "America/New_York"
    world.admissions.save()
    contact = create_contact(world.admissions, OTHER_NUMBER, first_name="Dana", last_name="Ruiz")
    opt_out_by_hand(world.alice, contact, "Asked at the fair")
    at(ConsentChange.objects.get(), datetime(2026, 1, 5, 15, tzinfo=UTC))
    receive_text(world.charlie_inbox, "STOP")
    client.force_login(world.alice)

    rows = read_csv(client.get(f"/teams/{world.admissions.pk}/opt-outs.csv"))

    assert rows == [
        ["time", "contact", "phone", "team", "status", "scope", "cause", "detail", "by"],
        [
            "2026-01-05T10:00:00-05:00",
            "Dana Ruiz",
            OTHER_NUMBER,
            "Admissions",
            "opted out",
            "The team's inboxes",
            "By hand",
            "Asked at the fair",
            "Alice Archer",
        ],
    ]


def test_an_erased_contacts_personal_opt_out_stays_in_the_history(world, client):
    receive_text(world.alice_personal, "STOP")
    contact = Contact.objects.get(team=world.admissions, phone=STUDENT_NUMBER)
    ConsentChange.objects.filter(contact=contact).update(contact=None, phone="erased-1")
    client.force_login(world.alice)
    rows = [c for c, _ in client.get(opt_outs_url(world)).context["rows"]]
    assert [(c.scope, c.phone) for c in rows] == [("personal", "erased-1"), ("team", "erased-1")]


def test_the_history_costs_the_same_few_queries_however_many_changes(
    world, client, django_assert_max_num_queries
):
    client.force_login(world.alice)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(opt_outs_url(world)).status_code == 200
        return len(captured)

    receive_text(world.shared, "STOP")
    queries()  # the session's first page remembers its time zone: one-off queries
    few = queries()
    for n in range(30):
        contact = create_contact(world.admissions, f"+1617555{n:04d}", first_name=f"C{n}")
        opt_out_by_hand(world.bob, contact, "Asked")
    assert queries() == few
    with django_assert_max_num_queries(14):
        client.get(opt_outs_url(world))
