"""The one WebSocket each open page keeps: it hears of changes and reports the user's presence."""

import json
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db.models import Q

from textdesk.conversations import locks
from textdesk.conversations.models import Conversation
from textdesk.inboxes.queries import accessible_inboxes
from textdesk.live import relay
from textdesk.live.events import as_message
from textdesk.live.models import LiveEvent

# How often a connection re-checks which inboxes its user may see: someone removed from an
# inbox stops hearing of it within this many seconds, even on a page left open.
ACCESS_RECHECK_SECONDS = 30


# What a page reports about the conversation it shows (see conversations/locks.py).
PRESENCE_ACTIONS = {
    "watch": locks.heartbeat,
    "activity": locks.record_activity,
    "leave": locks.leave,
}


@database_sync_to_async
def _inbox_of(conversation_id: int) -> int | None:
    return (
        Conversation.objects.filter(pk=conversation_id).values_list("inbox_id", flat=True).first()
    )


CATCH_UP_LIMIT = 500


@database_sync_to_async
def _events_since(since: int, user_id: int, inbox_ids: set[int]) -> tuple[list[LiveEvent], bool]:
    events = list(
        LiveEvent.objects.filter(id__gt=since)
        .filter(
            Q(inbox_id__in=inbox_ids, user_id__isnull=True)
            | Q(user_id=user_id, inbox_id__isnull=True)
            | Q(user_id=user_id, inbox_id__in=inbox_ids)
        )
        .order_by("id")[: CATCH_UP_LIMIT + 1]
    )
    return events[:CATCH_UP_LIMIT], len(events) <= CATCH_UP_LIMIT


@database_sync_to_async
def _accessible_inbox_ids(user) -> set[int]:
    return set(accessible_inboxes(user).values_list("pk", flat=True))


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        self.inbox_ids: set[int] = set()
        await self._refresh_access()
        await self.channel_layer.group_add(f"user-{self.user.pk}", self.channel_name)
        await relay.ensure_running()
        await self.accept()

    async def _refresh_access(self) -> None:
        current = await _accessible_inbox_ids(self.user)
        for inbox_id in self.inbox_ids - current:
            await self.channel_layer.group_discard(f"inbox-{inbox_id}", self.channel_name)
        for inbox_id in current - self.inbox_ids:
            await self.channel_layer.group_add(f"inbox-{inbox_id}", self.channel_name)
        self.inbox_ids = current
        self.access_checked_at = time.monotonic()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "user", None) is None or not self.user.is_authenticated:
            return
        for inbox_id in getattr(self, "inbox_ids", ()):
            await self.channel_layer.group_discard(f"inbox-{inbox_id}", self.channel_name)
        await self.channel_layer.group_discard(f"user-{self.user.pk}", self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # A page sends small JSON objects; anything else is ignored rather than ending the socket.
        try:
            content = json.loads(text_data or "")
        except ValueError:
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"kind": "pong"})
        elif kind == "hello":
            since = content.get("since")
            if isinstance(since, int) and since >= 0:
                await self._catch_up(since)
        elif kind in PRESENCE_ACTIONS:
            conversation_id, tab = content.get("conversation"), content.get("tab")
            if not isinstance(conversation_id, int) or not isinstance(tab, str) or not tab:
                return
            if not await self._may_see(conversation_id):
                return
            await database_sync_to_async(PRESENCE_ACTIONS[kind])(self.user, conversation_id, tab)

    async def _catch_up(self, since: int) -> None:
        """Replay what this page missed since the event it last saw (the page was loading, or
        the connection dropped). After a long absence, tell it to re-fetch everything."""
        events, complete = await _events_since(since, self.user.pk, self.inbox_ids)
        if not complete:
            await self.send_json({"kind": "resync"})
            return
        for event in events:
            await self.send_json(as_message(event))

    async def _may_see(self, conversation_id: int) -> bool:
        inbox_id = await _inbox_of(conversation_id)
        return inbox_id is not None and inbox_id in self.inbox_ids

    async def live_event(self, message: dict) -> None:
        event = message["event"]
        if time.monotonic() - self.access_checked_at > ACCESS_RECHECK_SECONDS:
            await self._refresh_access()
        if event.get("user") is not None and event["user"] != self.user.pk:
            return
        if event.get("inbox") is not None and event["inbox"] not in self.inbox_ids:
            return
        await self.send_json(event)
