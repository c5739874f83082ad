"""Replies go to Twilio's real REST API (here: the fake Twilio on loopback) in its wire format."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import PUBLIC_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from textdesk.compliance.models import ConsentChange
from textdesk.conversations.actions import SendRefused, send_reply
from textdesk.conversations.models import Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.messaging.dispatch import MAX_ATTEMPTS
from textdesk.messaging.worker import run_once
from textdesk.providers.twilio.fake_server import (
    INVALID_NUMBER,
    NOT_MOBILE_NUMBER,
    UNSUBSCRIBED_NUMBER,
)
from textdesk.testing import STUDENT_NUMBER, create_conversation

TWILIO_NUMBER = "+16175550111"


@pytest.fixture
def conversation(world):
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    return create_conversation(world.shared)


def test_a_reply_reaches_twilio_with_the_right_fields_and_basic_auth(
    world, conversation, fake_twilio
):
    message = send_reply(world.bob, conversation, "Yes, we have it. Anything else?")
    assert fake_twilio.sent() == []  # queued: the worker sends it

    run_once()

    [request] = fake_twilio.sent()
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
    assert request.basic_auth == (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.field("From") == TWILIO_NUMBER
    assert request.field("To") == STUDENT_NUMBER
    assert request.field("Body") == "Yes, we have it. Anything else?"
    assert request.field("StatusCallback") == (
        f"{PUBLIC_URL}/webhooks/twilio/status?message={message.pk}"
    )
    assert request.fields("MediaUrl") == []
    message.refresh_from_db()
    assert message.status == "sending"
    assert message.provider_message_id in fake_twilio.messages
    assert message.sent_at is not None
    assert message.attempts == 1
    assert message.claimed_until is None


def test_a_message_is_sent_once_even_when_the_worker_runs_again(world, conversation, fake_twilio):
    send_reply(world.bob, conversation, "Once")
    run_once()
    run_once()
    assert len(fake_twilio.sent()) == 1


def test_media_urls_are_sent_as_repeated_mediaurl_fields(world, conversation, fake_twilio):
    message = send_reply(world.bob, conversation, "See attached")
    urls = ["https://textdesk.example.edu/media/a.png", "https://textdesk.example.edu/media/b.gif"]
    Message.objects.filter(pk=message.pk).update(media_urls=urls)
    run_once()
    [request] = fake_twilio.sent()
    assert request.fields("MediaUrl") == urls


@pytest.mark.parametrize(
    ("number", "code"), [(INVALID_NUMBER, "21211"), (NOT_MOBILE_NUMBER, "21614")]
)
def test_a_permanent_error_fails_the_message_without_retrying(world, fake_twilio, number, code):
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    conversation = create_conversation(world.shared, sender=number)
    message = send_reply(world.bob, conversation, "Hello")
    run_once()
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error_code == code
    assert "not a valid" in message.error_message
    run_once()
    assert len(fake_twilio.sent()) == 1


def test_twilio_saying_they_unsubscribed_records_the_opt_out_with_its_cause(world, fake_twilio):
    PhoneNumber.objects.filter(inbox=world.shared).update(number=TWILIO_NUMBER, provider="twilio")
    conversation = create_conversation(world.shared, sender=UNSUBSCRIBED_NUMBER)
    message = send_reply(world.bob, conversation, "Hello")
    run_once()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "21610")
    contact = conversation.contact
    contact.refresh_from_db()
    assert contact.consent == "opted_out"
    change = ConsentChange.objects.get()
    assert (change.cause, change.message, change.inbox) == ("provider", message, world.shared)
    assert "21610" in change.detail
    with pytest.raises(SendRefused, match="opted out"):
        send_reply(world.bob, conversation, "Hello again?")
    assert len(fake_twilio.sent()) == 1


@pytest.mark.parametrize(
    ("status", "code"), [(500, 20500), (503, None), (429, 20429)], ids=["500", "503", "429"]
)
def test_a_server_error_or_rate_limit_is_retried_later(
    world, conversation, fake_twilio, status, code
):
    fake_twilio.fail_next(status, code)
    message = send_reply(world.bob, conversation, "Hello")
    before = timezone.now()
    run_once()

    message.refresh_from_db()
    assert message.status == "queued"
    assert message.next_attempt_at > before
    assert message.claimed_until is None
    assert message.error_code == str(code or status)
    run_once()  # not due yet
    assert len(fake_twilio.sent()) == 1

    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    run_once()
    message.refresh_from_db()
    assert message.status == "sending"
    assert message.attempts == 2
    assert (message.error_code, message.error_message) == ("", "")
    assert len(fake_twilio.sent()) == 2


def due_now(message) -> None:
    """Skip the backoff: the retry is due at once."""
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_a_timed_out_send_that_twilio_accepted_is_found_there_not_sent_again(
    world, conversation, fake_twilio, settings
):
    """Twilio created the message but its answer came too late: the retry looks it up."""
    settings.TWILIO_TIMEOUT_SECONDS = 0.2
    fake_twilio.accept_slowly_next(1.0)
    message = send_reply(world.bob, conversation, "Hello")
    run_once()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("queued", "timeout")
    assert message.handoff_started_at is not None  # Twilio may have it
    assert len(fake_twilio.messages) == 1

    due_now(message)
    run_once()

    message.refresh_from_db()
    assert message.status == "sending"
    assert message.provider_message_id in fake_twilio.messages
    assert len(fake_twilio.sent()) == 1  # one create, then only a lookup
    assert message.handoff_started_at is None


def test_a_server_error_is_looked_up_then_sent_once(world, conversation, fake_twilio):
    fake_twilio.fail_next(502)  # Twilio did not create it
    message = send_reply(world.bob, conversation, "Hello")
    run_once()
    due_now(message)
    run_once()
    message.refresh_from_db()
    assert message.status == "sending"
    assert len(fake_twilio.messages) == 1
    lookups = [r for r in fake_twilio.requests if r.method == "GET"]
    assert len(lookups) == 1
    assert "To=%2B16175550142" in lookups[0].path


def test_a_callback_during_the_wait_means_it_is_never_sent_again(
    world, conversation, fake_twilio, signed_post
):
    fake_twilio.fail_next(502)
    message = send_reply(world.bob, conversation, "Hello")
    run_once()
    # Twilio had in fact accepted it, and says so.
    response = signed_post(
        f"/webhooks/twilio/status?message={message.pk}",
        {"AccountSid": TWILIO_ACCOUNT_SID, "MessageSid": "SM" + "d" * 32, "MessageStatus": "sent"},
    )
    assert response.status_code == 204
    due_now(message)
    run_once()
    assert len(fake_twilio.sent()) == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "SM" + "d" * 32)


def test_an_unreachable_twilio_is_retried_without_a_lookup(world, conversation, settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # nothing listens: the request never left
    message = send_reply(world.bob, conversation, "Hello")
    run_once()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("queued", "network")
    assert message.handoff_started_at is None  # certainly not at Twilio


def test_a_message_that_keeps_failing_gives_up_after_the_last_attempt(
    world, conversation, fake_twilio
):
    message = send_reply(world.bob, conversation, "Hello")
    Message.objects.filter(pk=message.pk).update(attempts=MAX_ATTEMPTS - 1)
    fake_twilio.fail_next(503)
    run_once()
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.attempts == MAX_ATTEMPTS


def test_wrong_credentials_fail_the_message_with_twilios_code(
    world, conversation, fake_twilio, settings
):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    message = send_reply(world.bob, conversation, "Hello")
    run_once()
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error_code == "20003"


def test_a_message_claimed_by_another_worker_is_left_alone(world, conversation, fake_twilio):
    message = send_reply(world.bob, conversation, "Hello")
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=1)
    )
    run_once()
    assert fake_twilio.sent() == []
