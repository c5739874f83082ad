"""The background worker: one loop that does whatever work is due, then waits a moment.

The database is the queue (no broker on one machine). Several workers may run at once: every
piece of work is claimed with a conditional UPDATE before it is done.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection

from textdesk.contacts.imports import import_next_batch
from textdesk.conversations.attachments import fetch_due_attachments
from textdesk.conversations.locks import release_lapsed_locks
from textdesk.conversations.models import LockPresence
from textdesk.core import clock
from textdesk.live.models import LiveEvent
from textdesk.messaging.dispatch import dispatch_due_messages
from textdesk.providers.registry import all_providers

logger = logging.getLogger(__name__)


def run_once() -> int:
    """Do one round of due work; returns how many pieces of work were done."""
    done = dispatch_due_messages()
    for provider in all_providers():
        done += provider.run_due_work()
    done += release_lapsed_locks()
    done += import_next_batch()
    done += fetch_due_attachments()
    return done


HOUSEKEEPING_SECONDS = 600
LIVE_EVENT_DAYS = 1
PRESENCE_HOURS = 1


def housekeeping() -> None:
    """Forget what nobody needs any more: old live events, presences of long-closed tabs."""
    now = clock.now()
    LiveEvent.objects.filter(created_at__lt=now - timedelta(days=LIVE_EVENT_DAYS)).delete()
    LockPresence.objects.filter(seen_at__lt=now - timedelta(hours=PRESENCE_HOURS)).delete()


# How often an idle worker lets Django drop a stale database connection. Doing it every round
# would reconnect to PostgreSQL four times a second.
CONNECTION_CHECK_SECONDS = 60


def run_forever(stop: threading.Event) -> None:
    logger.info("Worker started")
    last_check = last_housekeeping = time.monotonic()
    while not stop.is_set():
        if time.monotonic() - last_check > CONNECTION_CHECK_SECONDS:
            close_old_connections()
            last_check = time.monotonic()
        if time.monotonic() - last_housekeeping > HOUSEKEEPING_SECONDS:
            last_housekeeping = time.monotonic()
            try:
                housekeeping()
            except Exception:
                logger.exception("Housekeeping failed")
        try:
            done = run_once()
        except Exception:
            # A database hiccup must not end the worker: drop the connection (the next round
            # opens a fresh one), log it and try again shortly.
            logger.exception("Worker round failed")
            connection.close()
            done = 0
        if not done:
            stop.wait(settings.WORKER_POLL_SECONDS)
    logger.info("Worker stopped")
