"""Opting a contact out or back in by hand, and a team's keyword answers and notifications."""

from textdesk.accounts.models import Team
from textdesk.compliance.models import AuditEvent, ConsentChange
from textdesk.contacts.models import Contact
from textdesk.testing import create_contact, drain, receive_text


def consent_url(contact) -> str:
    return f"/teams/{contact.team_id}/contacts/{contact.pk}/consent/"


def test_a_member_opts_a_contact_out_with_a_reason_and_it_shows_on_the_contact(world, client):
    dana = create_contact(world.admissions, "+16175550190", first_name="Dana")
    client.force_login(world.bob)
    response = client.post(
        consent_url(dana), {"consent": "opted_out", "reason": "Asked by email, May 3"}
    )
    assert response.status_code == 302
    dana.refresh_from_db()
    assert dana.consent == Contact.Consent.OPTED_OUT
    change = ConsentChange.objects.get()
    assert (change.cause, change.actor, change.detail) == (
        "user",
        world.bob,
        "Asked by email, May 3",
    )
    page = client.get(f"/teams/{world.admissions.pk}/contacts/{dana.pk}/").content.decode()
    assert "Asked by email, May 3" in page
    assert "by Bob Baker" in page
    assert "Opt back in" not in page  # a member cannot; an admin can


def test_a_reason_is_required(world, client):
    dana = create_contact(world.admissions, "+16175550190", first_name="Dana")
    client.force_login(world.bob)
    client.post(consent_url(dana), {"consent": "opted_out", "reason": "  "})
    dana.refresh_from_db()
    assert dana.consent == Contact.Consent.SUBSCRIBED
    assert not ConsentChange.objects.exists()


def test_only_an_admin_opts_someone_back_in(world, client):
    receive_text(world.shared, "STOP")
    contact = Contact.objects.get(team=world.admissions)
    client.force_login(world.bob)
    response = client.post(consent_url(contact), {"consent": "subscribed", "reason": "Said so"})
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.consent == Contact.Consent.OPTED_OUT

    client.force_login(world.alice)
    client.post(consent_url(contact), {"consent": "subscribed", "reason": "Confirmed by phone"})
    contact.refresh_from_db()
    assert contact.consent == Contact.Consent.SUBSCRIBED
    assert [c.cause for c in ConsentChange.objects.order_by("pk")] == ["keyword", "user"]
    assert AuditEvent.objects.filter(action="consent.opted_in", actor=world.alice).exists()


def test_an_admin_sets_the_keyword_answers_and_who_is_emailed(world, client):
    client.force_login(world.alice)
    url = f"/teams/{world.admissions.pk}/compliance/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "opt_out_reply": "Admissions: you're unsubscribed. Reply START to return.",
            "opt_in_reply": "Admissions: welcome back.",
            "help_reply": "Admissions office, 617-555-0100.",
            "notify_emails": "dean@example.edu,  records@example.edu ",
        },
    )
    assert response.status_code == 302
    team = Team.objects.get(pk=world.admissions.pk)
    assert team.notify_addresses == ["dean@example.edu", "records@example.edu"]
    event = AuditEvent.objects.get(action="settings.team_compliance")
    assert set(event.data["changed"]) == {
        "opt_out_reply",
        "opt_in_reply",
        "help_reply",
        "notify_emails",
    }

    receive_text(world.shared, "HELP")
    drain()
    from textdesk.providers.simulator.models import CarrierMessage

    assert CarrierMessage.objects.get(direction="mt").body == "Admissions office, 617-555-0100."


def test_settings_refuse_empty_answers_and_bad_addresses(world, client):
    client.force_login(world.alice)
    response = client.post(
        f"/teams/{world.admissions.pk}/compliance/",
        {"opt_out_reply": " ", "opt_in_reply": "x", "help_reply": "y", "notify_emails": "dean@"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "carriers require an answer" in html
    assert "is not an email address" in html
    assert not AuditEvent.objects.filter(action="settings.team_compliance").exists()


def test_members_see_no_compliance_link_and_admins_do(world, client):
    client.force_login(world.bob)
    assert (
        "/compliance/" not in client.get(f"/teams/{world.admissions.pk}/contacts/").content.decode()
    )
    client.force_login(world.alice)
    assert "/compliance/" in client.get(f"/teams/{world.admissions.pk}/contacts/").content.decode()
