"""The simulator's round trip: a phone texts an inbox, the inbox answers, the phone gets it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from textdesk.conversations.actions import send_reply
from textdesk.conversations.models import Conversation, Message
from textdesk.messaging.worker import run_once
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import SHARED_NUMBER

HANDSET = "+16175550123"


def text_inbox(client, body: str, *, handset: str = HANDSET, service_number: str = SHARED_NUMBER):
    return client.post(
        "/simulator/send/", {"handset": handset, "service_number": service_number, "body": body}
    )


def test_a_text_from_a_simulated_phone_lands_in_the_shared_inbox(world, client):
    client.force_login(world.bob)
    response = text_inbox(client, "When is the open day?")

    assert response.status_code == 200
    message = Message.objects.get()
    assert (message.direction, message.body, message.provider) == (
        "in",
        "When is the open day?",
        "simulator",
    )
    assert message.conversation.inbox == world.shared
    assert message.conversation.contact.phone == HANDSET
    assert CarrierMessage.objects.get().direction == "mo"
    assert "When is the open day?" in response.content.decode()

    listing = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert "When is the open day?" in listing


def test_the_reply_reaches_the_phone_and_is_delivered(world, client):
    client.force_login(world.bob)
    text_inbox(client, "When is the open day?")
    conversation = Conversation.objects.get()
    client.post(
        f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/reply/",
        {"body": "Saturday at 10. See you there!"},
    )

    run_once()  # sends, and (with no receipt delay in tests) reports delivery

    reply = Message.objects.get(direction="out")
    assert reply.status == "delivered"
    assert reply.provider_message_id.startswith("SIM")
    on_phone = CarrierMessage.objects.get(direction="mt")
    assert (on_phone.handset, on_phone.service_number) == (HANDSET, SHARED_NUMBER)
    assert on_phone.body == "Saturday at 10. See you there!"
    phone = client.get("/simulator/", {"handset": HANDSET, "service_number": SHARED_NUMBER})
    assert "Saturday at 10. See you there!" in phone.content.decode()


def test_delivery_receipts_wait_for_their_delay(world, settings):
    settings.SIMULATOR_RECEIPT_DELAY_SECONDS = 60
    reply = send_reply(world.bob, _conversation(world), "Hi")
    run_once()
    reply.refresh_from_db()
    assert reply.status == "sent"

    CarrierMessage.objects.update(receipt_due_at=timezone.now() - timedelta(seconds=1))
    run_once()
    reply.refresh_from_db()
    assert reply.status == "delivered"


def test_a_configured_share_of_receipts_report_failure(world, settings):
    settings.SIMULATOR_FAILURE_RATE = 1.0
    reply = send_reply(world.bob, _conversation(world), "Hi")
    run_once()
    reply.refresh_from_db()
    assert (reply.status, reply.error_code) == ("undelivered", "30003")


def test_each_receipt_is_reported_once(world):
    reply = send_reply(world.bob, _conversation(world), "Hi")
    run_once()
    first = Message.objects.get(pk=reply.pk).status_changed_at
    run_once()
    assert Message.objects.get(pk=reply.pk).status_changed_at == first
    assert CarrierMessage.objects.filter(receipt_sent_at__isnull=False).count() == 1


def _conversation(world) -> Conversation:
    from textdesk.testing import create_conversation

    return create_conversation(world.shared, sender=HANDSET)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"body": ""}, "Type a message first."),
        ({"handset": "12"}, "is not a valid phone number"),
        ({"handset": "+442079460000"}, "does not look like a mobile number"),
        ({"service_number": "+16175550999"}, "is not one of our"),
        ({"service_number": ""}, "Choose the phone"),
    ],
)
def test_bad_input_on_the_phone_is_explained_and_stores_nothing(world, client, fields, error):
    client.force_login(world.bob)
    data = {"handset": HANDSET, "service_number": SHARED_NUMBER, "body": "Hello", **fields}
    response = client.post("/simulator/send/", data)
    assert response.status_code == 422
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not Message.objects.exists()
    assert not CarrierMessage.objects.exists()


def test_the_phone_page_lists_every_simulator_number_but_names_only_visible_inboxes(world, client):
    client.force_login(world.bob)
    html = client.get("/simulator/").content.decode()
    for inbox in (world.shared, world.alice_personal, world.charlie_inbox):
        assert inbox.phone_numbers.get().number in html
    assert f"Admissions ({SHARED_NUMBER})" in html
    assert "Financial Aid" not in html
    assert "Alice&#x27;s line" not in html


def test_a_number_typed_into_the_address_bar_picks_that_inbox(world, client):
    """Unencoded, "+" in a query string arrives as a space; the page still understands it."""
    client.force_login(world.alice)
    personal = world.alice_personal.phone_numbers.get().number
    text_inbox(client, "Hi Alice", service_number=personal)
    html = client.get(f"/simulator/?handset={HANDSET}&service_number={personal}").content.decode()
    assert "Hi Alice" in html
    assert f'<option value="{personal}" selected>' in html


def test_a_thread_with_another_teams_inbox_stays_private(world, client):
    """Charlie may text Admissions from a phone, but not read Admissions' replies."""
    client.force_login(world.bob)
    text_inbox(client, "Is my aid package ready?")
    send_reply(world.bob, Conversation.objects.get(), "Your award letter went out today.")
    run_once()

    client.force_login(world.charlie)
    page = client.get("/simulator/", {"handset": HANDSET, "service_number": SHARED_NUMBER})
    html = page.content.decode()
    assert "Your award letter went out today." not in html
    assert "Is my aid package ready?" not in html
    assert "belong to another team" in html
    response = text_inbox(client, "One more thing")
    assert response.status_code == 200
    assert "Your award letter went out today." not in response.content.decode()
    assert Message.objects.filter(body="One more thing", direction="in").exists()


def test_a_receipt_reported_before_the_sid_is_stored_still_finds_its_message(world, settings):
    from textdesk.providers.simulator.carrier import report_due_receipts

    settings.SIMULATOR_RECEIPT_DELAY_SECONDS = 60
    reply = send_reply(world.bob, _conversation(world), "Hi")
    from textdesk.messaging.dispatch import dispatch_due_messages

    assert dispatch_due_messages() == 1
    CarrierMessage.objects.update(receipt_due_at=timezone.now())
    # As if another worker reported the receipt before this one stored the sid.
    Message.objects.filter(pk=reply.pk).update(provider_message_id=None, status="sending")
    assert report_due_receipts() == 1
    reply.refresh_from_db()
    assert reply.status == "delivered"
    assert reply.provider_message_id == CarrierMessage.objects.get(direction="mt").sid
