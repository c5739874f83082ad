"""Announcing changes to open pages.

``publish`` writes a LiveEvent in the caller's transaction and, once it commits, sends it
through the channel layer to the groups that should hear it: ``inbox-<id>`` (everyone viewing
that inbox) and ``user-<id>`` (one person's notifications).
"""

import logging
import os
import threading
from collections import deque
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from textdesk.live.models import LiveEvent

logger = logging.getLogger(__name__)

# Ids this process has already sent itself, so that its relay (see relay.py) does not send them
# a second time. Pages ignore repeats anyway; this only saves work.
sent_here: deque[int] = deque(maxlen=2_000)


def publish(
    kind: str,
    *,
    inbox_id: int | None = None,
    conversation_id: int | None = None,
    user_id: int | None = None,
    **data: Any,
) -> LiveEvent:
    event = LiveEvent.objects.create(
        kind=kind, inbox_id=inbox_id, conversation_id=conversation_id, user_id=user_id, data=data
    )
    transaction.on_commit(lambda: send(event))
    return event


def as_message(event: LiveEvent) -> dict:
    return {
        "id": event.pk,
        "kind": event.kind,
        "inbox": event.inbox_id,
        "conversation": event.conversation_id,
        "user": event.user_id,
        **event.data,
    }


def groups_for(event: LiveEvent) -> list[str]:
    groups = []
    if event.inbox_id is not None:
        groups.append(f"inbox-{event.inbox_id}")
    if event.user_id is not None:
        groups.append(f"user-{event.user_id}")
    return groups


async def send_async(event: LiveEvent) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "live.event", "event": as_message(event)}
    for group in groups_for(event):
        await layer.group_send(group, message)


def _serving_pages() -> bool:
    """Whether this thread runs a request for the server whose event loop holds the pages'
    sockets (Django runs sync views in such a thread)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    return loop is not None and pid == os.getpid()


def send(event: LiveEvent) -> None:
    """Send a committed event now. A failure (Redis down) is logged, never raised: the change
    itself is saved, and pages catch up when they reconnect."""
    if settings.LIVE_RELAY_ENABLED and not _serving_pages():
        # An in-memory layer reaches only this process's sockets, and only from its own
        # event loop: elsewhere (the worker, a management command) the relay delivers it.
        return
    sent_here.append(event.pk)
    try:
        async_to_sync(send_async)(event)
    except RuntimeError:
        # Called from a thread that runs an event loop of its own (a test driving a browser):
        # async_to_sync refuses to block it, so send from a helper thread instead.
        thread = threading.Thread(target=lambda: async_to_sync(send_async)(event))
        thread.start()
        thread.join()
    except Exception:
        logger.exception("Could not send live event %s", event.pk)
