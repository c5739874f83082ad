"""Locking a conversation (to reply, to receive, to take its lock) holds only its own row: the
inbox and the number it joins stay free for every other conversation and for the dispatcher."""

import threading

import pytest
from django.db import connection, transaction

from textdesk.conversations import locks
from textdesk.conversations.actions import _locked
from textdesk.inboxes.models import Inbox, PhoneNumber
from textdesk.testing import create_conversation, create_world

pytestmark = pytest.mark.django_db(transaction=True)


def others_can_lock(*rows) -> bool:
    """Whether another connection can lock ``rows`` at once (NOWAIT) right now."""
    result: list[bool] = []

    def attempt() -> None:
        try:
            with transaction.atomic():
                for row in rows:
                    type(row).objects.select_for_update(nowait=True).get(pk=row.pk)
            result.append(True)
        except Exception:  # DatabaseError: could not obtain lock
            result.append(False)
        finally:
            connection.close()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
@pytest.mark.parametrize("lock", [_locked, lambda c: locks._lock_row(c.pk)], ids=["reply", "lock"])
def test_a_locked_conversation_leaves_its_inbox_and_number_free(lock):
    world = create_world()
    conversation = create_conversation(world.shared)
    inbox = Inbox.objects.get(pk=world.shared.pk)
    number = PhoneNumber.objects.get(inbox=inbox)
    with transaction.atomic():
        lock(conversation)
        assert not others_can_lock(conversation)  # the conversation itself is held
        assert others_can_lock(inbox, number)
