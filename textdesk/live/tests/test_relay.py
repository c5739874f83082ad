"""The relay between processes, and catching up, when ids commit out of order."""

import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction

from textdesk.live.consumers import _events_since
from textdesk.live.events import publish
from textdesk.live.models import LiveEvent
from textdesk.live.relay import GAP_PATIENCE_SECONDS, Relay
from textdesk.testing import create_world


def event(pk: int) -> LiveEvent:
    return LiveEvent(pk=pk, kind="message")


def test_an_id_committed_after_a_higher_one_is_still_relayed():
    relay = Relay(last_id=10)
    assert [e.pk for e in relay.take([event(11), event(13)], now=0)] == [11, 13]
    assert set(relay.gaps) == {12}
    assert [e.pk for e in relay.take([event(12)], now=1)] == [12]  # 12 committed late
    assert relay.gaps == {}


def test_nothing_is_relayed_twice():
    relay = Relay(last_id=10)
    relay.take([event(11), event(12)], now=0)
    assert relay.take([event(11), event(12)], now=1) == []


def test_a_gap_that_never_fills_is_forgotten():
    """A rolled-back transaction leaves its id unused for ever."""
    relay = Relay(last_id=10)
    relay.take([event(12)], now=0)
    assert 11 in relay.gaps
    relay.take([], now=GAP_PATIENCE_SECONDS + 1)
    assert relay.gaps == {}


@pytest.mark.django_db(transaction=True)
def test_the_relay_finds_an_event_whose_transaction_committed_late():
    """On the real database: the worker's transaction holds event N while the web process
    writes and commits N+1; the relay sees N+1 first and N on a later round."""
    started, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                publish("status", inbox_id=1, conversation_id=1)
                started.set()
                release.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    newest = LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    relay = Relay(last_id=newest)
    writer.start()
    started.wait(10)
    if connection.vendor == "sqlite":
        # SQLite lets one writer in at a time: the late commit cannot happen there.
        release.set()
        writer.join()
        pytest.skip("SQLite serializes writers; ids always commit in order")
    with transaction.atomic():
        quick = publish("lock", inbox_id=1, conversation_id=1)
    first_round = relay.take(list(LiveEvent.objects.filter(id__gt=relay.last_id)), now=0)
    assert [e.pk for e in first_round] == [quick.pk]
    release.set()
    writer.join()
    gaps = list(relay.gaps)
    late = relay.take(list(LiveEvent.objects.filter(id__in=gaps)), now=1)
    assert [e.kind for e in late] == ["status"]


@pytest.mark.django_db(transaction=True)
def test_catching_up_also_replays_what_was_written_just_before_the_last_event_seen():
    world = create_world()
    long_ago = publish("message", inbox_id=world.shared.pk, conversation_id=3)
    older = publish("message", inbox_id=world.shared.pk, conversation_id=1)
    seen = publish("message", inbox_id=world.shared.pk, conversation_id=2)
    LiveEvent.objects.filter(pk=long_ago.pk).update(
        created_at=seen.created_at - timedelta(minutes=5)
    )
    events, complete = async_to_sync(_events_since)(seen.pk, world.bob.pk, {world.shared.pk})
    assert complete
    assert older.pk in [e.pk for e in events]  # may have committed after ``seen``
    assert long_ago.pk not in [e.pk for e in events]


@pytest.mark.django_db(transaction=True)
def test_catching_up_from_a_pruned_event_asks_for_a_full_refresh():
    world = create_world()
    gone = publish("message", inbox_id=world.shared.pk, conversation_id=1)
    LiveEvent.objects.filter(pk=gone.pk).delete()
    _, complete = async_to_sync(_events_since)(gone.pk, world.bob.pk, {world.shared.pk})
    assert not complete
