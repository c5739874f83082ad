"""Every send ends: whatever its audience, its last receipts reach the report, a send's failed
text leaves the unreplied queue alone, and a send that is over cannot be cancelled."""

from datetime import time

import pytest

from textdesk.campaigns import actions
from textdesk.campaigns.expansion import FIRST_BATCH, expand_next_batch
from textdesk.campaigns.models import Send
from textdesk.campaigns.tests.test_sending_engine import audience, start
from textdesk.contacts.models import Contact
from textdesk.conversations.models import Conversation, Message
from textdesk.live.models import LiveEvent
from textdesk.messaging import dispatch
from textdesk.testing import drain


@pytest.fixture(autouse=True)
def _window_always_open(world):
    world.shared.window_start, world.shared.window_end = time(0, 0), time(23, 59, 59)
    world.shared.save()


def test_a_send_of_exactly_one_first_batch_finishes(world):
    send = start(world, audience(world, FIRST_BATCH))
    drain()
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert send.finished_at is not None


def test_a_send_whose_audience_is_all_excluded_finishes(world):
    segment = audience(world, 3)
    Contact.objects.filter(team=world.admissions).update(consent=Contact.Consent.OPTED_OUT)
    send = start(world, segment)
    drain()
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert send.excluded == {"opted_out": 3}
    assert not Message.objects.filter(send=send).exists()


def test_a_send_whose_last_texts_are_refused_at_handover_finishes(world):
    send = start(world, audience(world, 4))
    while expand_next_batch():  # queued, not yet handed over...
        pass
    assert Message.objects.filter(send=send, status="queued").count() == 4
    # ...when they all text STOP: every text is refused at handover, none is sent.
    Contact.objects.filter(team=world.admissions).update(consent=Contact.Consent.OPTED_OUT)
    drain()
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert set(Message.objects.filter(send=send).values_list("status", "error_code")) == {
        ("failed", dispatch.OPTED_OUT_CODE)
    }


def test_a_failed_text_of_a_send_does_not_put_the_conversation_back_in_unreplied(world, settings):
    settings.SIMULATOR_RECEIPT_DELAY_SECONDS = 0
    settings.SIMULATOR_FAILURE_RATE = 1.0
    send = start(world, audience(world, 3))
    drain()
    failed = Message.objects.filter(send=send, status__in=["failed", "undelivered"])
    assert failed.count() == 3
    assert not Conversation.objects.filter(inbox=world.shared, needs_reply=True).exists()


def test_a_send_s_receipts_are_announced_as_progress_not_one_by_one(world, settings):
    settings.SIMULATOR_RECEIPT_DELAY_SECONDS = 0
    dispatch._last_progress.clear()
    send = start(world, audience(world, 20))
    drain()
    assert Message.objects.filter(send=send, status="delivered").count() == 20
    assert not LiveEvent.objects.filter(kind="status").exists()
    progress = LiveEvent.objects.filter(kind="send", data__topic=f"send-{send.pk}")
    before = progress.count()
    assert before >= 1
    # The receipts came within the second of the last announcement; the worker announces
    # them once that second is up, so the page ends up showing all of them.
    assert dispatch.announce_pending_progress() in (0, 1)
    dispatch._last_progress[send.pk] = 0.0
    dispatch._unannounced.add(send.pk)
    assert dispatch.announce_pending_progress() == 1
    assert progress.count() == before + 1
    assert dispatch.announce_pending_progress() == 0


def test_a_send_that_is_over_cannot_be_cancelled_and_keeps_its_finish(world):
    send = start(world, audience(world, 2))
    drain()
    send.refresh_from_db()
    finished_at = send.finished_at
    stale = Send.objects.get(pk=send.pk)
    stale.status = Send.Status.SENDING  # what a page loaded a moment earlier believed
    with pytest.raises(actions.SendRefused, match="over"):
        actions.cancel_send(world.alice, stale)
    send.refresh_from_db()
    assert (send.status, send.finished_at) == (Send.Status.DONE, finished_at)
