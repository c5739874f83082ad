"""Signed status callbacks move messages forward, never backwards, however they arrive."""

import pytest

from conftest import TWILIO_ACCOUNT_SID
from textdesk.conversations.actions import send_reply
from textdesk.conversations.models import Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.messaging.worker import run_once
from textdesk.testing import create_conversation

PATH = "/webhooks/twilio/status"
TWILIO_NUMBER = "+16175550111"


@pytest.fixture
def sent_message(world, fake_twilio) -> Message:
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    message = send_reply(world.bob, create_conversation(world.shared), "We got it, thanks!")
    run_once()
    message.refresh_from_db()
    assert message.status == "sending"
    return message


def callback(message: Message, status: str, **extra) -> tuple[str, dict]:
    params = {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "MessageSid": message.provider_message_id,
        "SmsSid": message.provider_message_id,
        "MessageStatus": status,
        "SmsStatus": status,
        "From": TWILIO_NUMBER,
        "To": message.conversation.contact.phone,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return f"{PATH}?message={message.pk}", params


def post_statuses(signed_post, message: Message, *statuses: str) -> list[str]:
    seen = []
    for status in statuses:
        response = signed_post(*callback(message, status))
        assert response.status_code == 204
        message.refresh_from_db()
        seen.append(message.status)
    return seen


def test_callbacks_in_order_move_the_message_to_delivered(sent_message, signed_post):
    assert post_statuses(signed_post, sent_message, "queued", "sent", "delivered") == [
        "sending",
        "sent",
        "delivered",
    ]
    assert sent_message.delivered_at is not None


def test_a_late_sent_never_overwrites_delivered(sent_message, signed_post):
    assert post_statuses(signed_post, sent_message, "delivered", "sent", "sending") == [
        "delivered",
        "delivered",
        "delivered",
    ]


def test_a_final_status_is_never_replaced_by_another(sent_message, signed_post):
    assert post_statuses(signed_post, sent_message, "undelivered", "delivered", "failed") == [
        "undelivered",
        "undelivered",
        "undelivered",
    ]


def test_a_repeated_callback_changes_nothing(sent_message, signed_post):
    post_statuses(signed_post, sent_message, "delivered")
    first = Message.objects.get(pk=sent_message.pk)
    post_statuses(signed_post, sent_message, "delivered")
    again = Message.objects.get(pk=sent_message.pk)
    assert again.status_changed_at == first.status_changed_at
    assert again.delivered_at == first.delivered_at


def test_partially_delivered_counts_as_sent(sent_message, signed_post):
    assert post_statuses(signed_post, sent_message, "partially_delivered") == ["sent"]


def test_an_undelivered_callback_records_twilios_error_code(sent_message, signed_post):
    signed_post(*callback(sent_message, "undelivered", ErrorCode="30003"))
    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.error_code) == ("undelivered", "30003")


def test_a_callback_that_outruns_the_send_response_still_finds_its_message(world, signed_post):
    """Twilio may call back before our worker has stored the sid it was given."""
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    message = send_reply(world.bob, create_conversation(world.shared), "Hello")
    message.provider_message_id = "SM" + "a" * 32
    response = signed_post(*callback(message, "sent"))
    assert response.status_code == 204
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "SM" + "a" * 32)


def test_a_callback_naming_another_sid_for_our_message_is_ignored(sent_message, signed_post):
    path, params = callback(sent_message, "failed")
    params["MessageSid"] = params["SmsSid"] = "SM" + "b" * 32
    assert signed_post(path, params).status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == "sending"


def test_a_callback_found_by_sid_alone_works_too(sent_message, signed_post):
    _, params = callback(sent_message, "delivered")
    assert signed_post(PATH, params).status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"


def test_a_callback_for_an_unknown_message_is_accepted_and_changes_nothing(world, signed_post):
    params = {
        "AccountSid": TWILIO_ACCOUNT_SID,
        "MessageSid": "SM" + "c" * 32,
        "MessageStatus": "sent",
    }
    assert signed_post(PATH, params).status_code == 204
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [{"MessageStatus": "exploded", "SmsStatus": ""}, {"MessageSid": ""}],
    ids=["unknown status", "no sid"],
)
def test_a_malformed_callback_is_a_400(sent_message, signed_post, overrides):
    path, params = callback(sent_message, "delivered")
    params.update(overrides)
    assert signed_post(path, params).status_code == 400
    sent_message.refresh_from_db()
    assert sent_message.status == "sending"


def test_a_forged_callback_is_refused_and_changes_nothing(sent_message, signed_post):
    response = signed_post(*callback(sent_message, "failed"), signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == "sending"
