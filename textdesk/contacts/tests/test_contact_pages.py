"""The contact list, a contact's page and CSV export."""

import csv
import io
import zoneinfo
from datetime import UTC, datetime

from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from textdesk.compliance.models import AuditEvent
from textdesk.contacts.models import Contact, ContactField, Segment, Tag
from textdesk.contacts.views import PAGE_SIZE
from textdesk.testing import create_contact, receive_text


def list_url(world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/teams/{world.admissions.pk}/contacts/?{query}"


def shown(response) -> list[str]:
    return [c.phone for c in response.context["page"].object_list]


def test_search_filters_and_sorting(world, client):
    ana = create_contact(world.admissions, "+16175550101", first_name="Ana", last_name="Lima")
    bo = create_contact(world.admissions, "+16175550102", first_name="Bo", last_name="Chen")
    cy = create_contact(world.admissions, "+16175550103", first_name="Cy", last_name="Lima")
    visit = Tag.objects.create(team=world.admissions, name="visit")
    bo.tags.add(visit)
    cy.owner = world.bob
    cy.consent = Contact.Consent.OPTED_OUT
    cy.save()
    create_contact(world.financial_aid, "+16175550104", first_name="Ana", last_name="Lima")
    client.force_login(world.bob)

    assert shown(client.get(list_url(world))) == [bo.phone, ana.phone, cy.phone]  # by name
    assert shown(client.get(list_url(world, q="lima"))) == [ana.phone, cy.phone]
    assert shown(client.get(list_url(world, q="ana lima"))) == [ana.phone]
    assert shown(client.get(list_url(world, q="555-0102"))) == [bo.phone]
    assert shown(client.get(list_url(world, tag="visit"))) == [bo.phone]
    assert shown(client.get(list_url(world, owner=world.bob.pk))) == [cy.phone]
    assert shown(client.get(list_url(world, owner="none"))) == [bo.phone, ana.phone]
    assert shown(client.get(list_url(world, consent="opted_out"))) == [cy.phone]
    assert shown(client.get(list_url(world, sort="-created"))) == [cy.phone, bo.phone, ana.phone]


def test_the_list_costs_the_same_few_queries_however_many_contacts(world, client):
    client.force_login(world.bob)
    visit = Tag.objects.create(team=world.admissions, name="visit")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(list_url(world)).status_code == 200
        return len(captured)

    create_contact(world.admissions, "+16175550100").tags.add(visit)
    queries()
    few = queries()
    for n in range(PAGE_SIZE + 10):
        contact = create_contact(world.admissions, f"+1617555{1000 + n}")
        contact.tags.add(visit)
    assert queries() == few


def test_a_contact_page_shows_only_conversations_in_inboxes_the_viewer_may_open(world, client):
    shared = receive_text(world.shared, "Hi shared").conversation
    personal = receive_text(world.alice_personal, "Hi Alice").conversation
    contact = shared.contact
    assert personal.contact == contact
    client.force_login(world.bob)
    page = client.get(f"/teams/{world.admissions.pk}/contacts/{contact.pk}/")
    assert list(page.context["conversations"]) == [shared]
    client.force_login(world.alice)
    page = client.get(f"/teams/{world.admissions.pk}/contacts/{contact.pk}/")
    assert set(page.context["conversations"]) == {shared, personal}


def test_a_contacts_details_can_be_edited(world, client):
    ContactField.objects.create(team=world.admissions, key="student_id", label="Student ID")
    contact = create_contact(world.admissions, "+16175550101", first_name="Ana")
    client.force_login(world.bob)
    response = client.post(
        f"/teams/{world.admissions.pk}/contacts/{contact.pk}/",
        {
            "first_name": "Ana",
            "last_name": "Lima",
            "owner": world.bob.pk,
            "time_zone": "America/Chicago",
            "tags": "visit, fall-2027, visit",
            "custom_student_id": "S123",
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.last_name, contact.owner, contact.time_zone) == (
        "Lima",
        world.bob,
        "America/Chicago",
    )
    assert contact.fields == {"student_id": "S123"}
    assert sorted(contact.tags.values_list("name", flat=True)) == ["fall-2027", "visit"]
    assert contact.effective_time_zone == "America/Chicago"


def test_a_bad_time_zone_is_refused_and_nothing_changes(world, client):
    contact = create_contact(world.admissions, "+16175550101", first_name="Ana")
    client.force_login(world.bob)
    response = client.post(
        f"/teams/{world.admissions.pk}/contacts/{contact.pk}/",
        {"first_name": "Changed", "time_zone": "Mars/Olympus", "tags": ""},
    )
    assert response.status_code == 422
    contact.refresh_from_db()
    assert contact.first_name == "Ana"


def test_the_time_zone_comes_from_the_number_when_not_set(world):
    boston = create_contact(world.admissions, "+16175550101")
    london = create_contact(world.admissions, "+447911123456")
    assert boston.effective_time_zone == "America/New_York"
    # A UK mobile may be in London, Jersey, Guernsey or Man: all keep London's time.
    london_time = zoneinfo.ZoneInfo("Europe/London")
    for month in (1, 7):
        moment = datetime(2026, month, 15, 12, tzinfo=UTC)
        zone = zoneinfo.ZoneInfo(london.effective_time_zone)
        assert moment.astimezone(zone).utcoffset() == moment.astimezone(london_time).utcoffset()


def read_csv(response) -> list[list[str]]:
    """The export streams asynchronously (it is served by an ASGI server)."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return list(csv.reader(io.StringIO(async_to_sync(collect)().decode())))


def test_export_streams_the_filtered_list_as_csv_and_is_audited(world, client):
    ContactField.objects.create(team=world.admissions, key="term", label="Term")
    ana = create_contact(world.admissions, "+16175550101", first_name="Ana", last_name="Lima")
    ana.fields = {"term": "Fall"}
    ana.save()
    create_contact(world.admissions, "+16175550102", first_name="Bo", last_name="Chen")
    client.force_login(world.bob)
    response = client.get(f"/teams/{world.admissions.pk}/contacts/export.csv?q=lima")
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert rows[0][:3] == ["phone", "first_name", "last_name"]
    assert rows[0][-1] == "term"
    assert [row[0] for row in rows[1:]] == ["+16175550101"]
    assert rows[1][-1] == "Fall"
    assert AuditEvent.objects.filter(action="contacts.exported", actor=world.bob).exists()


def test_export_of_a_segment(world, client):
    ana = create_contact(world.admissions, "+16175550101", first_name="Ana")
    create_contact(world.admissions, "+16175550102", first_name="Bo")
    segment = Segment.objects.create(team=world.admissions, name="VIP", kind="static")
    segment.members.add(ana)
    client.force_login(world.bob)
    rows = read_csv(
        client.get(f"/teams/{world.admissions.pk}/contacts/export.csv?segment={segment.pk}")
    )
    assert [row[0] for row in rows[1:]] == ["+16175550101"]


def test_export_defuses_spreadsheet_formulas(world, client):
    create_contact(world.admissions, "+16175550101", first_name='=HYPERLINK("http://x")')
    client.force_login(world.bob)
    rows = read_csv(client.get(f"/teams/{world.admissions.pk}/contacts/export.csv"))
    assert rows[1][1] == '\'=HYPERLINK("http://x")'


def test_sending_to_a_contact_records_when_they_were_last_texted(world):
    from textdesk.conversations.actions import send_reply

    conversation = receive_text(world.shared, "Hi").conversation
    assert conversation.contact.last_texted_at is None
    message = send_reply(world.bob, conversation, "Hello!")
    conversation.contact.refresh_from_db()
    assert conversation.contact.last_texted_at == message.created_at
