"""An answer that never reached the contact is no answer: nothing falls through."""

from textdesk.conversations.actions import mark_read, send_reply
from textdesk.conversations.models import Conversation
from textdesk.live.models import LiveEvent
from textdesk.messaging.actions import advance_status
from textdesk.testing import create_conversation, receive_text


def test_a_failed_reply_puts_the_conversation_back_in_the_unreplied_queue(world):
    conversation = create_conversation(world.shared)
    reply = send_reply(world.bob, conversation, "Yes, it's complete.")
    conversation.refresh_from_db()
    assert not conversation.needs_reply
    advance_status(reply.pk, "undelivered", error_code="30003")
    conversation.refresh_from_db()
    assert conversation.needs_reply


def test_a_failed_reply_changes_nothing_when_another_answer_went_out(world):
    conversation = create_conversation(world.shared)
    first = send_reply(world.bob, conversation, "Yes.")
    send_reply(world.bob, conversation, "And welcome!")
    advance_status(first.pk, "failed", error_code="21610")
    conversation.refresh_from_db()
    assert not conversation.needs_reply


def test_a_failed_reply_to_a_conversation_we_started_does_not_make_it_unreplied(world):
    from textdesk.conversations.actions import start_conversation

    message = start_conversation(world.bob, world.shared, "+16175550177", "Welcome!")
    advance_status(message.pk, "failed", error_code="21211")
    assert not Conversation.objects.get(pk=message.conversation_id).needs_reply


def test_a_failed_personal_reply_puts_the_shared_conversation_back_too(world):
    shared = receive_text(world.shared, "Is my aid package ready?").conversation
    personal = receive_text(world.alice_personal, "Hi Alice, it's me").conversation
    reply = send_reply(world.alice, personal, "Yes, it went out today.")
    shared.refresh_from_db()
    assert not shared.needs_reply
    advance_status(reply.pk, "undelivered", error_code="30003")
    shared.refresh_from_db()
    personal.refresh_from_db()
    assert shared.needs_reply
    assert personal.needs_reply


def test_a_delivered_reply_leaves_the_conversation_answered(world):
    conversation = create_conversation(world.shared)
    reply = send_reply(world.bob, conversation, "Yes.")
    advance_status(reply.pk, "delivered")
    conversation.refresh_from_db()
    assert not conversation.needs_reply


def test_reading_tells_the_readers_other_pages_only_when_it_changes_something(world):
    conversation = create_conversation(world.shared)
    mark_read(world.bob, conversation)
    assert LiveEvent.objects.filter(kind="read", user_id=world.bob.pk).count() == 1
    mark_read(world.bob, conversation)  # nothing new since
    assert LiveEvent.objects.filter(kind="read", user_id=world.bob.pk).count() == 1
    receive_text(world.shared, "One more thing")
    conversation.refresh_from_db()
    mark_read(world.bob, conversation)
    assert LiveEvent.objects.filter(kind="read", user_id=world.bob.pk).count() == 2
