"""The pages' WebSocket: who hears what, across threads and processes."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from textdesk.live import consumers
from textdesk.live.consumers import LiveConsumer
from textdesk.live.events import publish
from textdesk.live.models import LiveEvent
from textdesk.testing import create_world, receive_text

pytestmark = pytest.mark.django_db(transaction=True)


async def until_pong(communicator: WebsocketCommunicator) -> None:
    """Read what the socket sends (events for the user's inboxes) up to the answer to a ping."""
    while (await communicator.receive_json_from(timeout=5)) != {"kind": "pong"}:
        pass


async def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def test_signed_out_visitors_are_turned_away():
    from django.contrib.auth.models import AnonymousUser

    async def scenario():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/")
        communicator.scope["user"] = AnonymousUser()
        connected, code = await communicator.connect()
        assert not connected
        assert code == 4401

    async_to_sync(scenario)()


def test_a_page_hears_of_new_texts_only_in_inboxes_its_user_may_see():
    world = create_world()

    async def scenario():
        bob = await connect(world.bob)
        charlie = await connect(world.charlie)
        message = await database_sync_to_async(receive_text)(world.shared, "Hi there")
        event = await bob.receive_json_from(timeout=5)
        assert event["kind"] == "message"
        assert (event["inbox"], event["conversation"]) == (world.shared.pk, message.conversation_id)
        assert event["direction"] == "in"
        assert "Hi there" not in str(event)  # ids only: pages fetch content through the views
        assert await charlie.receive_nothing(timeout=0.3)
        await bob.disconnect()
        await charlie.disconnect()

    async_to_sync(scenario)()


def test_events_from_another_process_arrive_through_the_relay(settings):
    """The worker process shares no memory with the web process: its events come via the DB."""
    settings.LIVE_RELAY_POLL_SECONDS = 0.05
    world = create_world()

    async def scenario():
        bob = await connect(world.bob)
        # A plain thread, like the worker process: no page sockets to send to directly.
        await asyncio.to_thread(_publish_and_close, world.shared.pk)
        event = await bob.receive_json_from(timeout=5)
        assert (event["kind"], event["inbox"]) == ("status", world.shared.pk)
        await bob.disconnect()

    async_to_sync(scenario)()


def _publish_and_close(inbox_id: int) -> None:
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            publish("status", inbox_id=inbox_id, conversation_id=1, message=1, status="sent")
    finally:
        connection.close()


def test_an_event_for_one_user_reaches_only_them():
    world = create_world()

    async def scenario():
        alice = await connect(world.alice)
        bob = await connect(world.bob)
        await database_sync_to_async(_notify)(world.alice.pk)
        event = await alice.receive_json_from(timeout=5)
        assert (event["kind"], event["user"]) == ("notice", world.alice.pk)
        assert await bob.receive_nothing(timeout=0.3)
        await alice.disconnect()
        await bob.disconnect()

    async_to_sync(scenario)()


def _notify(user_id: int) -> None:
    from django.db import transaction

    with transaction.atomic():
        publish("notice", user_id=user_id, text="hello")


def test_a_user_removed_from_an_inbox_stops_hearing_of_it(monkeypatch):
    monkeypatch.setattr(consumers, "ACCESS_RECHECK_SECONDS", 0)
    world = create_world()

    async def scenario():
        bob = await connect(world.bob)
        await database_sync_to_async(lambda: world.bob.memberships.all().delete())()
        await database_sync_to_async(receive_text)(world.shared, "Private")
        assert await bob.receive_nothing(timeout=0.5)
        await bob.disconnect()

    async_to_sync(scenario)()


def test_a_ping_is_answered():
    world = create_world()

    async def scenario():
        bob = await connect(world.bob)
        await bob.send_json_to({"type": "ping"})
        assert await bob.receive_json_from(timeout=5) == {"kind": "pong"}
        await bob.send_to(text_data="not json at all")  # ignored, the socket stays open
        await bob.send_json_to({"type": "ping"})
        assert await bob.receive_json_from(timeout=5) == {"kind": "pong"}
        await bob.disconnect()

    async_to_sync(scenario)()


def test_a_page_catches_up_on_what_it_missed_while_connecting():
    """A text that arrives between rendering the page and opening its socket is not lost."""
    world = create_world()
    charlies = receive_text(world.charlie_inbox, "For Charlie only")
    rendered_after = LiveEvent.objects.order_by("-id").first().pk
    missed = receive_text(world.shared, "Arrived while the page was loading")

    async def scenario():
        bob = await connect(world.bob)
        await bob.send_json_to({"type": "hello", "since": rendered_after})
        event = await bob.receive_json_from(timeout=5)
        assert (event["kind"], event["conversation"]) == ("message", missed.conversation_id)
        assert await bob.receive_nothing(timeout=0.3)  # nothing from Charlie's inbox
        await bob.disconnect()

    async_to_sync(scenario)()
    assert charlies.conversation.inbox_id != world.shared.pk


def test_after_a_long_absence_the_page_is_told_to_fetch_everything(monkeypatch):
    monkeypatch.setattr(consumers, "CATCH_UP_LIMIT", 2)
    world = create_world()
    for n in range(3):
        receive_text(world.shared, f"text {n}", sender=f"+1617555{1000 + n}")

    async def scenario():
        bob = await connect(world.bob)
        await bob.send_json_to({"type": "hello", "since": 0})
        assert await bob.receive_json_from(timeout=5) == {"kind": "resync"}
        await bob.disconnect()

    async_to_sync(scenario)()


def test_a_flood_of_presence_messages_is_mostly_ignored():
    from textdesk.compliance.models import AuditEvent
    from textdesk.testing import create_conversation

    world = create_world()
    conversation = create_conversation(world.shared)

    async def scenario():
        bob = await connect(world.bob)
        for _ in range(20):
            for kind in ("activity", "leave"):
                await bob.send_json_to({"type": kind, "conversation": conversation.pk, "tab": "t"})
        await bob.send_json_to({"type": "ping"})  # answered once everything before is handled
        await until_pong(bob)
        await bob.disconnect()

    async_to_sync(scenario)()
    taken = AuditEvent.objects.filter(action="lock.acquired").count()
    assert 1 <= taken <= consumers.PRESENCE_MESSAGES_PER_SECOND


def test_a_socket_cannot_invent_tabs_without_end():
    from textdesk.conversations.models import LockPresence
    from textdesk.testing import create_conversation

    world = create_world()
    conversation = create_conversation(world.shared)

    async def scenario():
        bob = await connect(world.bob)
        for n in range(consumers.MAX_TABS_PER_SOCKET + 5):
            await bob.send_json_to(
                {"type": "watch", "conversation": conversation.pk, "tab": f"t{n}"}
            )
            await asyncio.sleep(0.25)  # within the rate
        await bob.send_json_to({"type": "ping"})
        assert await bob.receive_json_from(timeout=5) == {"kind": "pong"}
        await bob.disconnect()

    async_to_sync(scenario)()
    assert LockPresence.objects.count() == consumers.MAX_TABS_PER_SOCKET


def test_presence_for_a_conversation_the_user_may_not_see_is_ignored():
    from textdesk.conversations.models import ConversationLock, LockPresence
    from textdesk.testing import create_conversation

    world = create_world()
    conversation = create_conversation(world.shared)

    async def scenario():
        charlie = await connect(world.charlie)
        await charlie.send_json_to(
            {"type": "activity", "conversation": conversation.pk, "tab": "t"}
        )
        await charlie.send_json_to({"type": "ping"})
        assert await charlie.receive_json_from(timeout=5) == {"kind": "pong"}
        await charlie.disconnect()

    async_to_sync(scenario)()
    assert not ConversationLock.objects.exists()
    assert not LockPresence.objects.exists()


def test_a_signed_out_users_socket_is_closed(monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore

    monkeypatch.setattr(consumers, "ACCESS_RECHECK_SECONDS", 0)
    world = create_world()
    session = SessionStore()
    session["_auth_user_id"] = str(world.bob.pk)
    session.create()

    async def scenario():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/")
        communicator.scope["user"] = world.bob
        communicator.scope["session"] = session
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(session.delete)()  # signed out in another tab
        await communicator.send_json_to({"type": "ping"})
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}

    async_to_sync(scenario)()
