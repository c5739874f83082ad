"""The one WebSocket each open page keeps: it hears of changes and reports the user's presence."""

import json
import time
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils import timezone

from textdesk.accounts.models import User
from textdesk.conversations import locks
from textdesk.conversations.models import Conversation
from textdesk.inboxes.queries import accessible_inboxes
from textdesk.live import relay
from textdesk.live.events import as_message
from textdesk.live.models import LiveEvent

# How often a connection re-checks its user: someone removed from an inbox stops hearing of
# it, and someone signed out or deactivated loses the socket, within this many seconds.
ACCESS_RECHECK_SECONDS = 30
# A page reports presence every few seconds; more than this per second is not a page.
PRESENCE_MESSAGES_PER_SECOND = 5
MAX_TABS_PER_SOCKET = 8


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
# Events are numbered when written, not when committed: a page that saw event 42 may not yet
# have seen 41. Catching up therefore also replays what was written shortly before ``since``;
# a replayed event the page already shows only makes it fetch a fragment again.
CATCH_UP_OVERLAP = timedelta(seconds=30)


@database_sync_to_async
def _events_since(since: int, user_id: int, inbox_ids: set[int]) -> tuple[list[LiveEvent], bool]:
    """What a page that last saw event ``since`` missed; False when too much (or pruned)."""
    events = LiveEvent.objects.all()
    if since:
        seen = LiveEvent.objects.filter(pk=since).values_list("created_at", flat=True).first()
        if seen is None:
            return [], False  # pruned long ago, or from another database: start over
        events = events.filter(Q(id__gt=since) | Q(created_at__gte=seen - CATCH_UP_OVERLAP))
    audience = (
        Q(inbox_id__in=inbox_ids, user_id__isnull=True)
        | Q(user_id=user_id, inbox_id__isnull=True)
        | Q(user_id=user_id, inbox_id__in=inbox_ids)
    )
    found = list(events.filter(audience).order_by("id")[: CATCH_UP_LIMIT + 1])
    return found[:CATCH_UP_LIMIT], len(found) <= CATCH_UP_LIMIT


@database_sync_to_async
def _still_signed_in(user_id: int, session_key: str | None) -> bool:
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        return False
    return (
        session_key is None
        or Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).exists()
    )


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
        self.tabs: set[str] = set()
        self.allowance = float(PRESENCE_MESSAGES_PER_SECOND)
        self.allowance_at = time.monotonic()
        await self._refresh_access()
        await self.channel_layer.group_add(f"user-{self.user.pk}", self.channel_name)
        await relay.ensure_running()
        await self.accept()

    async def _refresh_access(self) -> bool:
        """Re-read what the user may see; False (and the socket closed) once they may not."""
        self.access_checked_at = time.monotonic()
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if not await _still_signed_in(self.user.pk, session_key):
            await self.close(code=4401)
            return False
        current = await _accessible_inbox_ids(self.user)
        for inbox_id in self.inbox_ids - current:
            await self.channel_layer.group_discard(f"inbox-{inbox_id}", self.channel_name)
        # Adding again what we already have is deliberate: channel layers forget group members
        # after a day (group_expiry), and a page may stay open longer than that.
        for inbox_id in current:
            await self.channel_layer.group_add(f"inbox-{inbox_id}", self.channel_name)
        await self.channel_layer.group_add(f"user-{self.user.pk}", self.channel_name)
        self.inbox_ids = current
        return True

    async def _access_ok(self) -> bool:
        if time.monotonic() - self.access_checked_at > ACCESS_RECHECK_SECONDS:
            return await self._refresh_access()
        return True

    def _within_rate(self) -> bool:
        """A token bucket for presence messages: a page needs far fewer than this."""
        now = time.monotonic()
        self.allowance = min(
            PRESENCE_MESSAGES_PER_SECOND,
            self.allowance + (now - self.allowance_at) * PRESENCE_MESSAGES_PER_SECOND,
        )
        self.allowance_at = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

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
        if not await self._access_ok():
            return
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
            if len(tab) > 64 or (tab not in self.tabs and len(self.tabs) >= MAX_TABS_PER_SOCKET):
                return
            if not self._within_rate() or not await self._may_see(conversation_id):
                return
            self.tabs.add(tab)
            await database_sync_to_async(PRESENCE_ACTIONS[kind])(self.user, conversation_id, tab)

    async def _catch_up(self, since: int) -> None:
        """Replay what this page missed since the event it last saw (the page was loading, or
        the connection dropped). After a long absence, tell it to re-fetch everything."""
        events, complete = await _events_since(since, self.user.pk, self.inbox_ids)
        if not complete:
            await self.send_json({"kind": "resync"})
            return
        for event in events:
            # Marked, so that the page refreshes but does not notify anyone twice.
            await self.send_json({**as_message(event), "replay": True})

    async def _may_see(self, conversation_id: int) -> bool:
        inbox_id = await _inbox_of(conversation_id)
        return inbox_id is not None and inbox_id in self.inbox_ids

    async def live_event(self, message: dict) -> None:
        event = message["event"]
        if not await self._access_ok():
            return
        if event.get("user") is not None and event["user"] != self.user.pk:
            return
        if event.get("inbox") is not None and event["inbox"] not in self.inbox_ids:
            return
        await self.send_json(event)
