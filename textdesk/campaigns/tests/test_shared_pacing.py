"""Several workers share one number's rate: together they never exceed it."""

import threading
import time
from datetime import time as clock_time

import pytest
from django.db import connection

from textdesk.campaigns import actions
from textdesk.contacts.models import Segment
from textdesk.conversations.models import Message
from textdesk.messaging.worker import run_forever
from textdesk.testing import create_contact, create_world

RATE = 20.0  # segments a second
SECONDS = 3.0


@pytest.mark.django_db(transaction=True)
def test_two_workers_together_hold_one_numbers_rate():
    world = create_world()
    world.shared.window_start, world.shared.window_end = clock_time(0, 0), clock_time(23, 59, 59)
    world.shared.save()
    number = world.shared.phone_numbers.get()
    number.segments_per_second = RATE
    number.save()
    segment = Segment.objects.create(team=world.admissions, name="All", kind="static")
    segment.members.add(
        *[create_contact(world.admissions, f"+1617500{n:04d}", first_name="S") for n in range(300)]
    )
    actions.create_send(
        world.alice,
        inbox=world.shared,
        phone_number=number,
        segments=[segment],
        body="Hello {first_name}!",
        confirmed=True,
    )
    stop = threading.Event()

    def work() -> None:
        try:
            run_forever(stop)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(2)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    time.sleep(SECONDS)
    stop.set()
    for worker in workers:
        worker.join(timeout=10)
    elapsed = time.monotonic() - started
    handed_over = Message.objects.filter(send__isnull=False, sent_at__isnull=False).count()
    # Never more than the rate allows (plus one round's burst); a busy machine may send less.
    assert handed_over <= RATE * elapsed + RATE * 0.25 + 1
    assert handed_over >= RATE * SECONDS * 0.5
    senders = set(Message.objects.exclude(claimed_by="").values_list("claimed_by", flat=True))
    assert not senders  # every claim was released or completed
