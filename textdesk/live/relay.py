"""Carries events between processes when they share no channel layer.

With the default in-memory channel layer, an event published by the worker process (a status
callback, a delivery receipt) cannot reach pages served by the web process directly. Each web
process therefore reads new LiveEvents from the database a few times a second and sends them
to its own pages. With Redis (``REDIS_URL``) every process reaches every page and no relay runs.

Ids are handed out when a row is written, not when its transaction commits: event 41 may become
visible after event 42. So the relay remembers the ids it skipped over and looks for them again
for a while, instead of trusting that everything below the newest id it has seen is done.
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q

from textdesk.live.events import send_async, sent_here
from textdesk.live.models import LiveEvent

logger = logging.getLogger(__name__)

# How long a skipped id is looked for: longer than any transaction that publishes events.
GAP_PATIENCE_SECONDS = 30
MAX_GAPS = 1000
BATCH = 500

_task: asyncio.Task | None = None


async def ensure_running() -> None:
    """Start this process's relay, once, on its event loop (called by the first page to connect).

    It starts from the newest event at that moment, read before the page is accepted; pages
    catch up on anything earlier themselves (see the consumer's ``hello``)."""
    global _task
    if not settings.LIVE_RELAY_ENABLED:
        return
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _task = loop.create_task(Relay(await _newest_id()).run())


@database_sync_to_async
def _newest_id() -> int:
    newest = LiveEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


@database_sync_to_async
def _events_after(last_id: int, gaps: list[int]) -> list[LiveEvent]:
    return list(LiveEvent.objects.filter(Q(id__gt=last_id) | Q(id__in=gaps)).order_by("id")[:BATCH])


class Relay:
    def __init__(self, last_id: int) -> None:
        self.last_id = last_id
        self.gaps: dict[int, float] = {}  # skipped id -> when it was first missed

    def take(self, events: list[LiveEvent], now: float) -> list[LiveEvent]:
        """The events of one poll that are new to the relay, noting the ids skipped over."""
        fresh = []
        for event in events:
            if event.pk in self.gaps:
                del self.gaps[event.pk]
            elif event.pk > self.last_id:
                for missing in range(max(self.last_id + 1, event.pk - MAX_GAPS), event.pk):
                    self.gaps.setdefault(missing, now)
                self.last_id = event.pk
            else:
                continue
            fresh.append(event)
        for missing, since in list(self.gaps.items()):
            if now - since > GAP_PATIENCE_SECONDS:
                del self.gaps[missing]  # rolled back, most likely: ids are never reused
        return fresh

    async def run(self) -> None:
        while True:
            try:
                events = await _events_after(self.last_id, list(self.gaps))
                for event in self.take(events, time.monotonic()):
                    if event.pk not in sent_here:
                        await send_async(event)
            except Exception:
                logger.exception("Live relay round failed")
            await asyncio.sleep(settings.LIVE_RELAY_POLL_SECONDS)
