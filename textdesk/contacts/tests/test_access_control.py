"""Every team page walked as someone from another team: 404, and nothing changes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from textdesk.campaigns.models import MessageTemplate
from textdesk.compliance.models import AuditEvent
from textdesk.compliance.tests.pages import ADMIN_ONLY as COMPLIANCE_ADMIN_ONLY
from textdesk.compliance.tests.pages import COMPLIANCE_TEAM_PAGES
from textdesk.contacts.models import Contact, ContactImport, Segment
from textdesk.conversations.tests.test_access_control import named_patterns
from textdesk.events.models import Event, Invitation
from textdesk.events.tests.pages import EVENT_ADMIN_ONLY, EVENT_PAGES
from textdesk.testing import create_contact

ADMIN_ONLY = COMPLIANCE_ADMIN_ONLY | EVENT_ADMIN_ONLY
# The methods each team page answers; any other method is 405 for everyone.
TEAM_METHODS = {
    "contacts": {"get"},
    "contacts_export": {"get"},
    "contact": {"get", "post"},
    "import_new": {"get", "post"},
    "import": {"get", "post"},
    "import_resume": {"post"},
    "import_report": {"get"},
    "list_from_import": {"post"},
    "segments": {"get"},
    "segment_new": {"get", "post"},
    "segment_count": {"post"},
    "list_new": {"post"},
    "list_add": {"post"},
    "segment_edit": {"get", "post"},
    "segment_saved_count": {"get"},
    "segment_members": {"get", "post"},
    "segment_delete": {"post"},
    "templates": {"get"},
    "template_new": {"get", "post"},
    "template_preview": {"post"},
    "template_edit": {"get", "post"},
    **COMPLIANCE_TEAM_PAGES,
    **EVENT_PAGES,
}


def team_urls(team) -> dict[str, str]:
    """Each team page, filled in with objects of ``team``."""
    contact = create_contact(team, "+16175550190", first_name="Dana")
    contact_import = ContactImport.objects.create(team=team, filename="f.csv", stored_name="x.csv")
    segment = Segment.objects.create(team=team, name="S", kind=Segment.Kind.STATIC)
    template = MessageTemplate.objects.create(team=team, name="T", body="Hi {first_name}")
    starts = timezone.now() + timedelta(days=3)
    event = Event.objects.create(
        team=team,
        inbox=team.inboxes.order_by("pk").first(),
        name="Open Day",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
    )
    invitation = Invitation.objects.create(event=event, contact=contact, invited_at=starts)
    ids = {
        "event_id": event.pk,
        "invitation_id": invitation.pk,
        "team_id": team.pk,
        "contact_id": contact.pk,
        "import_id": contact_import.pk,
        "segment_id": segment.pk,
        "template_id": template.pk,
    }
    urls = {}
    for name, route in named_patterns().items():
        if "<int:team_id>" not in route:
            continue
        for key, value in ids.items():
            route = route.replace(f"<int:{key}>", str(value))
        assert "<" not in route, f"{name}: teach this test about {route}"
        urls[name] = "/" + route
    return urls


@pytest.mark.parametrize("method", ["get", "post"])
def test_someone_from_another_team_gets_404_on_every_team_page(world, client, method):
    urls = team_urls(world.admissions)
    before = (Contact.objects.count(), Segment.objects.count(), MessageTemplate.objects.count())
    client.force_login(world.charlie)
    data = {"name": "Mine now", "body": "x", "definition": "{}", "contact": "1", "first_name": "X"}
    for name, url in urls.items():
        response = getattr(client, method)(url, data)
        expected = 404 if method in TEAM_METHODS[name] else 405
        assert response.status_code == expected, f"{method} {name} {url}: {response.status_code}"
    after = (Contact.objects.count(), Segment.objects.count(), MessageTemplate.objects.count())
    assert after == before
    assert Contact.objects.get(phone="+16175550190").first_name == "Dana"
    assert not AuditEvent.objects.filter(actor=world.charlie).exists()


def test_members_of_the_team_get_its_pages_and_admins_get_the_admin_pages(world, client):
    urls = team_urls(world.admissions)
    for name, url in urls.items():
        if "get" in TEAM_METHODS[name] and name not in {"import", "import_report"}:
            # A static list's "edit" page is its member list.
            expected = 302 if name == "segment_edit" else 200
            client.force_login(world.bob)  # a member
            assert client.get(url).status_code == (403 if name in ADMIN_ONLY else expected), name
            client.force_login(world.alice)  # an admin
            assert client.get(url).status_code == expected, name


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    for name, url in team_urls(world.admissions).items():
        response = client.get(url)
        if "get" in TEAM_METHODS[name]:
            assert response.status_code == 302, name
            assert response["Location"].startswith("/login/"), name
