"""Each action an auditor asks about leaves an audit entry, with its actor and team."""

from datetime import time

from textdesk.campaigns import actions as sends
from textdesk.compliance import consent, settings_actions
from textdesk.compliance.models import AuditEvent
from textdesk.compliance.stewardship import erase_contact, export_contact
from textdesk.contacts import actions as contact_actions
from textdesk.contacts.models import Contact, Segment
from textdesk.conversations import locks
from textdesk.inboxes.actions import save_inbox_settings
from textdesk.testing import create_contact, receive_text


def test_opening_taking_over_consent_exports_settings_sends_and_erasure_are_audited(world):
    conversation = receive_text(world.shared, "Hi!").conversation
    locks.open_conversation(world.bob, conversation, "tab-1")
    locks.take_over(world.alice, conversation)
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.opt_out_by_hand(world.bob, contact, "Asked on the phone")
    consent.opt_in_by_hand(world.alice, contact, "Asked to be texted again, by email")
    contact_actions.record_export(world.bob, world.admissions, what="contact list")
    export_contact(world.bob, world.admissions, contact, fmt="json")
    settings_actions.save_team_compliance(
        world.alice,
        world.admissions,
        {
            "opt_out_reply": "Unsubscribed.",
            "opt_in_reply": world.admissions.opt_in_reply,
            "help_reply": world.admissions.help_reply,
            "notify_emails": "",
        },
    )
    save_inbox_settings(
        world.alice,
        world.shared,
        {
            "window_start": time(9),
            "window_end": time(20),
            "evening_warning": time(19),
            "footer": "",
        },
    )
    segment = Segment.objects.create(team=world.admissions, name="One", kind="static")
    segment.members.add(create_contact(world.admissions, "+16175550190"))
    send = sends.create_send(
        world.alice,
        inbox=world.shared,
        phone_number=world.shared.phone_numbers.get(),
        segments=[segment],
        body="Open day!",
    )
    sends.cancel_send(world.alice, send)
    erase_contact(world.alice, contact)

    trail = list(AuditEvent.objects.order_by("pk").values_list("action", "actor__username"))
    for expected in [
        ("lock.acquired", "bob"),
        ("lock.taken_over", "alice"),
        ("consent.opted_out", "bob"),
        ("consent.opted_in", "alice"),
        ("contacts.exported", "bob"),
        ("contact.exported", "bob"),
        ("settings.team_compliance", "alice"),
        ("settings.inbox", "alice"),
        ("send.created", "alice"),
        ("send.cancelled", "alice"),
        ("contact.erased", "alice"),
    ]:
        assert expected in trail, expected
    assert set(AuditEvent.objects.values_list("team_id", flat=True)) == {world.admissions.pk}
