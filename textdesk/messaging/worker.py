"""The background worker: one loop that does whatever work is due, then waits a moment.

The database is the queue (no broker on one machine). Several workers may run at once: every
piece of work is claimed with a conditional UPDATE before it is done.
"""

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from textdesk.campaigns.expansion import expand_next_batch, start_due_sends
from textdesk.compliance.notify import send_due_emails
from textdesk.compliance.stewardship import apply_retention
from textdesk.contacts.imports import import_next_batch
from textdesk.conversations.attachments import fetch_due_attachments
from textdesk.conversations.locks import release_lapsed_locks
from textdesk.conversations.models import LockPresence, Message
from textdesk.core import clock
from textdesk.events.rsvp import expire_offers
from textdesk.live.models import LiveEvent
from textdesk.messaging.dispatch import (
    announce_pending_progress,
    dispatch_due_messages,
    finish_idle_sends,
)
from textdesk.messaging.models import WorkerHeartbeat
from textdesk.messaging.status import MessageStatus
from textdesk.providers.registry import all_providers

logger = logging.getLogger(__name__)


def run_once(worker: str = "") -> int:
    """Do one round of due work; returns how many pieces of work were done. Sending comes
    first and again after each other step, so that nothing else delays a text."""
    done = start_due_sends()
    done += expand_next_batch()
    done += dispatch_due_messages(worker)
    for provider in all_providers():
        done += provider.run_due_work()
    done += release_lapsed_locks()
    done += import_next_batch()
    done += fetch_due_attachments()
    done += send_due_emails()
    done += expire_offers()
    # Bookkeeping, not work: it must not keep the worker from resting between rounds.
    finish_idle_sends()
    announce_pending_progress()
    return done


class Heartbeat:
    """This worker's sign of life, and the release of claims of workers that stopped."""

    def __init__(self) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.last = 0.0
        now = timezone.now()
        WorkerHeartbeat.objects.create(name=self.name, started_at=now, seen_at=now)

    def beat(self) -> None:
        if time.monotonic() - self.last < settings.WORKER_HEARTBEAT_SECONDS:
            return
        self.last = time.monotonic()
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            name=self.name, defaults={"seen_at": now, "started_at": now}
        )
        release_claims_of_dead_workers(now)

    def stop(self) -> None:
        release_claims_of(self.name)
        WorkerHeartbeat.objects.filter(name=self.name).delete()


def release_claims_of(worker: str) -> int:
    """A worker's claimed messages go back to the queue. Their handoff mark stays, so the next
    attempt asks the provider first whether it already has them."""
    return Message.objects.filter(claimed_by=worker, status=MessageStatus.QUEUED).update(
        claimed_until=None, claimed_by=""
    )


def release_claims_of_dead_workers(now) -> int:
    dead = list(
        WorkerHeartbeat.objects.filter(
            seen_at__lt=now - timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS)
        ).values_list("name", flat=True)
    )
    released = 0
    for name in dead:
        released += release_claims_of(name)
        WorkerHeartbeat.objects.filter(name=name).delete()
        logger.warning("Worker %s stopped answering; released %s of its claims", name, released)
    return released


HOUSEKEEPING_SECONDS = 600
LIVE_EVENT_DAYS = 1
PRESENCE_HOURS = 1


def housekeeping() -> None:
    """Forget what nobody needs any more: old live events, presences of long-closed tabs, and
    text bodies past the retention period (a few thousand at a time, so that a first run over
    a large backlog does not hold up sending)."""
    now = clock.now()
    LiveEvent.objects.filter(created_at__lt=now - timedelta(days=LIVE_EVENT_DAYS)).delete()
    LockPresence.objects.filter(seen_at__lt=now - timedelta(hours=PRESENCE_HOURS)).delete()
    apply_retention(now, max_batches=5)


# How often an idle worker lets Django drop a stale database connection. Doing it every round
# would reconnect to PostgreSQL four times a second.
CONNECTION_CHECK_SECONDS = 60


def run_forever(stop: threading.Event) -> None:
    heartbeat = Heartbeat()
    logger.info("Worker %s started", heartbeat.name)
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
            heartbeat.beat()
            done = run_once(heartbeat.name)
        except Exception:
            # A database hiccup must not end the worker: drop the connection (the next round
            # opens a fresh one), log it and try again shortly.
            logger.exception("Worker round failed")
            connection.close()
            done = 0
        if not done:
            stop.wait(settings.WORKER_POLL_SECONDS)
    try:
        heartbeat.stop()
    except Exception:
        logger.exception("Could not sign the worker off")
    logger.info("Worker stopped")
