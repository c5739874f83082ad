"""Workers killed (kill -9) at random instants while a send is going out, many times, then
counted: every recipient got their text exactly once. Runs real worker processes against a
database of their own (SQLite, or PostgreSQL when the suite runs on it)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection

from textdesk.processes import ROOT, free_port, fresh_environment, manage

# Fast enough that the worker is nearly always in the middle of a round (handing texts over,
# then recording them), which is where a kill hurts; big enough to outlast the kills.
RECIPIENTS = 3000
RATE = 2000
KILLS = 12

SET_UP = """
from textdesk.testing import create_world, create_contact
from textdesk.contacts.models import Segment
from textdesk.campaigns.actions import create_send
from datetime import time
world = create_world()
world.shared.window_start, world.shared.window_end = time(0, 0), time(23, 59, 59)
world.shared.save()
number = world.shared.phone_numbers.get()
number.segments_per_second = RATE
number.save()
segment = Segment.objects.create(team=world.admissions, name="All", kind="static")
segment.members.add(*[create_contact(world.admissions, f"+1617400{n:04d}", first_name="S")
                      for n in range(RECIPIENTS)])
create_send(world.alice, inbox=world.shared, phone_number=number, segments=[segment],
            body="Hello {first_name}!", confirmed=True)
"""

COUNT = """
import json
from collections import Counter
from textdesk.campaigns.models import Send
from textdesk.conversations.models import Message
from textdesk.providers.simulator.models import CarrierMessage
send = Send.objects.get()
texts = CarrierMessage.objects.filter(direction="mt")
per_message = Counter(texts.values_list("message_id", flat=True))
print(json.dumps({
    "status": send.status,
    "messages": Message.objects.filter(send=send).count(),
    "not_sent": Message.objects.filter(send=send).exclude(status__in=["sent", "delivered"]).count(),
    "texts": sum(per_message.values()),
    "twice": sum(1 for n in per_message.values() if n > 1),
    "handsets": CarrierMessage.objects.filter(direction="mt").values("handset").distinct().count(),
}))
"""


@pytest.fixture
def environment(tmp_path):
    extra = {
        "WORKER_HEARTBEAT_SECONDS": "0.2",
        "WORKER_DEAD_AFTER_SECONDS": "1",
        "WORKER_POLL_SECONDS": "0.05",
        "SIMULATOR_RECEIPT_DELAY_SECONDS": "3600",
    }
    env = fresh_environment(tmp_path, free_port(), **extra)
    database = None
    if connection.vendor == "postgresql":
        # A database of its own on the same server, for worker processes to share.
        database = f"textdesk_crash_{uuid.uuid4().hex[:8]}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {database}")
        settings_dict = connection.settings_dict
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{database}"
        )
    yield env
    if database:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def shell(env: dict, code: str) -> str:
    """Run ``code`` in a Django shell of the environment; its last line of output."""
    code = code.replace("RECIPIENTS", str(RECIPIENTS)).replace("RATE", str(RATE))
    output = manage(env, "shell", "--no-imports", "-c", code)
    return output.strip().splitlines()[-1] if output.strip() else ""


def start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.django_db(transaction=True)
def test_workers_killed_mid_send_never_send_twice_and_lose_nothing(environment):
    manage(environment, "migrate", "--noinput")
    shell(environment, SET_UP)
    rng = random.Random(20261204)
    for _ in range(KILLS):
        worker = start_worker(environment)
        # A random instant: starting up, expanding, handing over, recording.
        time.sleep(rng.uniform(0.9, 2.4))
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    survivor = start_worker(environment)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            counts = json.loads(shell(environment, COUNT))
            if counts["status"] == "done":
                break
            time.sleep(0.5)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=20)
    assert counts == {
        "status": "done",
        "messages": RECIPIENTS,
        "not_sent": 0,
        "texts": RECIPIENTS,
        "twice": 0,
        "handsets": RECIPIENTS,
    }
