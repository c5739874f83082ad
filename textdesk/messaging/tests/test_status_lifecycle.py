import threading

import pytest
from django.db import connection

from textdesk.conversations.actions import send_reply
from textdesk.messaging.actions import advance_status
from textdesk.messaging.status import FINAL_STATUSES, MessageStatus, can_follow
from textdesk.testing import create_conversation, create_world

S = MessageStatus


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.SENDING),
        (S.QUEUED, S.SENT),
        (S.QUEUED, S.FAILED),
        (S.SENDING, S.SENT),
        (S.SENDING, S.DELIVERED),
        (S.SENT, S.DELIVERED),
        (S.SENT, S.UNDELIVERED),
        (S.SENT, S.FAILED),
    ],
)
def test_a_status_may_move_forward(current, new):
    assert can_follow(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.DELIVERED, S.SENT),
        (S.DELIVERED, S.SENDING),
        (S.SENT, S.SENDING),
        (S.SENT, S.QUEUED),
        (S.SENDING, S.QUEUED),
        (S.DELIVERED, S.DELIVERED),
        (S.DELIVERED, S.UNDELIVERED),
        (S.UNDELIVERED, S.DELIVERED),
        (S.FAILED, S.DELIVERED),
        (S.QUEUED, S.RECEIVED),
        (S.RECEIVED, S.DELIVERED),
    ],
)
def test_a_status_never_moves_backwards_or_sideways(current, new):
    assert not can_follow(current, new)


def test_the_final_statuses_are_delivered_undelivered_and_failed():
    assert {S.DELIVERED, S.UNDELIVERED, S.FAILED} == FINAL_STATUSES


def test_the_database_update_enforces_the_rule(world):
    message = send_reply(world.bob, create_conversation(world.shared), "Hi")
    assert advance_status(message.pk, S.DELIVERED)
    assert not advance_status(message.pk, S.SENT)
    message.refresh_from_db()
    assert message.status == S.DELIVERED


def test_an_inbound_message_is_never_given_an_outbound_status(world):
    conversation = create_conversation(world.shared)
    inbound = conversation.messages.get()
    assert not advance_status(inbound.pk, S.DELIVERED)
    inbound.refresh_from_db()
    assert inbound.status == S.RECEIVED


@pytest.mark.django_db(transaction=True)
def test_racing_callbacks_end_at_the_highest_status():
    world = create_world()
    message = send_reply(world.bob, create_conversation(world.shared), "Hi")
    statuses = [S.SENDING, S.SENT, S.DELIVERED, S.SENT, S.SENDING, S.SENT] * 3
    start = threading.Barrier(len(statuses))

    def report(status: str) -> None:
        try:
            start.wait()
            advance_status(message.pk, status)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(status,)) for status in statuses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    message.refresh_from_db()
    assert message.status == S.DELIVERED


def test_the_database_update_follows_the_rule_for_every_pair_of_statuses(world):
    from textdesk.conversations.models import Message

    message = send_reply(world.bob, create_conversation(world.shared), "Hi")
    outbound = [S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED]
    for current in outbound:
        for new in outbound:
            Message.objects.filter(pk=message.pk).update(status=current)
            moved = advance_status(message.pk, new)
            message.refresh_from_db()
            assert moved == can_follow(current, new), (current, new)
            assert message.status == (new if moved else current), (current, new)
