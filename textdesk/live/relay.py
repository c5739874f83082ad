"""Carries events between processes when they share no channel layer.

With the default in-memory channel layer, an event published by the worker process (a status
callback, a delivery receipt) cannot reach pages served by the web process directly. Each web
process therefore reads new LiveEvents from the database a few times a second and sends them
to its own pages. With Redis (``REDIS_URL``) every process reaches every page and no relay runs.
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from textdesk.live.events import send_async, sent_here
from textdesk.live.models import LiveEvent

logger = logging.getLogger(__name__)

_task: asyncio.Task | None = None


async def ensure_running() -> None:
    """Start this process's relay, once, on its event loop (called by the first page to connect).

    It starts from the newest event at that moment, read before the page is accepted, so
    nothing published after the page connected can slip past it."""
    global _task
    if not settings.LIVE_RELAY_ENABLED:
        return
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _task.get_loop() is not loop:
        _task = loop.create_task(_relay_forever(await _newest_id()))


@database_sync_to_async
def _newest_id() -> int:
    newest = LiveEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


@database_sync_to_async
def _events_after(last_id: int) -> list[LiveEvent]:
    return list(LiveEvent.objects.filter(id__gt=last_id).order_by("id")[:500])


async def _relay_forever(last_id: int) -> None:
    while True:
        try:
            for event in await _events_after(last_id):
                last_id = event.pk
                if event.pk not in sent_here:
                    await send_async(event)
        except Exception:
            logger.exception("Live relay round failed")
        await asyncio.sleep(settings.LIVE_RELAY_POLL_SECONDS)
