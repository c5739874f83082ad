"""Sending to many: spin-up, expansion rate, dispatch capacity, pacing, reply latency, estimates.

Runs against a fresh database of its own (a temporary SQLite file, or ``--db postgres``: a
database created for the run on the PostgreSQL server of DATABASE_URL) with the real worker
loop in a thread of this process. Every figure is printed next to what it is compared with,
measured in the same run:

- spin-up: Send pressed -> first text handed to the provider, for 10,000 and 100,000
  recipients (target: about 1 s);
- expansion: recipients rendered and queued per second, and as a ratio to bare inserts of
  the same message rows (target: 20,000/s);
- dispatch capacity with no rate limit, against a fake Twilio on loopback (in its own
  process), as a ratio to a bare async HTTP client posting the same requests to it (>= 0.5);
- pacing: achieved segments/s over a whole send of --pacing-seconds at 20 segments/s
  (target: within 2%); during it, how long a one-to-one reply waits (target: the next slot);
  and the estimate shown before sending against the actual finish (target: within 5%).

    .venv/bin/python bench/sending.py [--db sqlite|postgres] [--big 100000] [--pacing-seconds 60]
"""

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.contacts_scale import ADMIN_URL, BENCH_DB, prepare

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-token"
PACING_RATE = 20.0
DISPATCH_MESSAGES = 3000


def start_fake_twilio_process() -> tuple[subprocess.Popen, str]:
    """The fake Twilio in its own process, so that it does not share our interpreter lock."""
    script = (
        "import sys, time\n"
        "from textdesk.providers.twilio.fake_server import start_fake_twilio\n"
        f"fake, server = start_fake_twilio({ACCOUNT_SID!r}, {AUTH_TOKEN!r})\n"
        "print(fake.base_url, flush=True)\n"
        "while True: time.sleep(3600)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http"):
        process.kill()
        raise SystemExit("The fake Twilio did not start")
    return process, base_url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--pacing-seconds", type=float, default=60.0)
    args = parser.parse_args()
    fake_process, base_url = start_fake_twilio_process()
    os.environ |= {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE": base_url,
        "TEXTDESK_PUBLIC_URL": "https://textdesk.example.edu",
        "TEXTDESK_LOG_LEVEL": "WARNING",
    }
    try:
        with tempfile.TemporaryDirectory() as var_dir:
            prepare(args.db, var_dir)
            try:
                run(args, base_url)
            finally:
                if args.db == "postgres":
                    from django.db import connections

                    connections.close_all()
                    import psycopg

                    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
                        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    finally:
        fake_process.kill()


# --- Fixtures --------------------------------------------------------------------------------


class Setup:
    def __init__(self) -> None:
        from textdesk.accounts.models import Membership, Team, User
        from textdesk.inboxes.models import Inbox, PhoneNumber

        self.user = User.objects.create_user("bench", password="x", first_name="Bench")
        self.team = Team.objects.create(name="Bench", time_zone="America/New_York")
        Membership.objects.create(team=self.team, user=self.user, role=Membership.Role.ADMIN)
        self.inbox = Inbox.objects.create(team=self.team, name="Office", kind=Inbox.Kind.SHARED)
        # All day: no recipient waits for a window, so times measure the engine alone.
        self.inbox.window_start, self.inbox.window_end = clock_time(0, 0), clock_time(23, 59, 59)
        self.inbox.save()
        self.simulated = PhoneNumber.objects.create(
            number="+16175550100", inbox=self.inbox, provider="simulator", segments_per_second=1e6
        )
        self.twilio = PhoneNumber.objects.create(
            number="+16175550101", inbox=self.inbox, provider="twilio", segments_per_second=1e6
        )

    def contacts(self, count: int, *, prefix: str, long_every: int = 0) -> list[int]:
        """``count`` new contacts (every ``long_every``-th with a name that makes the text two
        segments), and a static segment of them."""
        from textdesk.contacts.models import Contact

        first = Contact.objects.count()
        rows = [
            Contact(
                team=self.team,
                # Exchanges from 200 up: numbers that can get texts (not +1617000...).
                phone=f"+1{prefix}{200 + (first + n) // 10_000:03d}{(first + n) % 10_000:04d}",
                first_name=("Maximiliana" * 9 if long_every and n % long_every == 0 else "Sam"),
                time_zone="America/New_York",
            )
            for n in range(count)
        ]
        for start in range(0, count, 5000):
            Contact.objects.bulk_create(rows[start : start + 5000])
        ids = list(
            Contact.objects.filter(team=self.team, phone__startswith=f"+1{prefix}")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        return ids

    def segment(self, name: str, contact_ids: list[int]):
        from textdesk.contacts.models import Segment

        segment = Segment.objects.create(team=self.team, name=name, kind=Segment.Kind.STATIC)
        through = Segment.members.through
        rows = [through(segment_id=segment.pk, contact_id=pk) for pk in contact_ids]
        for start in range(0, len(rows), 5000):
            through.objects.bulk_create(rows[start : start + 5000])
        return segment

    def create_send(self, segment, number, body: str):
        from textdesk.campaigns import actions

        return actions.create_send(
            self.user,
            inbox=self.inbox,
            phone_number=number,
            segments=[segment],
            body=body,
            confirmed=True,
        )


class Worker:
    """The real worker loop, in a thread."""

    def __init__(self) -> None:
        from textdesk.messaging.worker import run_forever

        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_forever, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        from django.db import connections

        self.stop.set()
        self.thread.join()
        connections.close_all()


def wait_for(condition, timeout: float, poll: float = 0.002) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise SystemExit("Timed out waiting")
        time.sleep(poll)
    return time.perf_counter() - start


# --- Measurements ----------------------------------------------------------------------------


def spin_up(setup: Setup, sizes: list[int], contact_ids: list[int]) -> None:
    from textdesk.campaigns import actions
    from textdesk.conversations.models import Message

    worker = Worker()
    try:
        time.sleep(0.5)  # the worker is idle and polling, as it would be
        for size in sizes:
            segment = setup.segment(f"First {size}", contact_ids[:size])
            started = time.perf_counter()
            send = setup.create_send(segment, setup.simulated, "Hi {first_name}, orientation!")
            accepted = time.perf_counter() - started
            first = wait_for(
                lambda send=send: Message.objects.filter(send=send, sent_at__isnull=False).exists(),
                timeout=300,
            )
            handed = accepted + first
            actions.cancel_send(setup.user, send)
            print(
                f"spin-up  {size:>7,} recipients: first text handed over {handed:.2f} s after "
                f"Send (the request took {accepted * 1000:.0f} ms); target about 1 s: "
                f"{handed:.2f}x"
            )
    finally:
        worker.close()


def expansion(setup: Setup, db: str, contact_ids: list[int]) -> None:
    from django.db import transaction

    from textdesk.campaigns.expansion import BATCH, expand_next_batch
    from textdesk.campaigns.models import Send
    from textdesk.conversations.models import Message
    from textdesk.core.bulk import insert_many
    from textdesk.messaging.status import MessageStatus

    segment = setup.segment("Everyone new", contact_ids)
    send = setup.create_send(segment, setup.simulated, "Hi {first_name}, your award is ready.")
    started = time.perf_counter()
    while expand_next_batch():
        pass
    elapsed = time.perf_counter() - started
    send.refresh_from_db()
    queued = send.queued_count
    # The floor: writing the same rows the same way, without reading the audience, rendering,
    # planning or creating conversations.
    rows = list(
        Message.objects.filter(send=send).values_list(
            "conversation_id", "body", "encoding", "segments", "next_attempt_at", "cost"
        )
    )
    Send.objects.filter(pk=send.pk).update(status=Send.Status.CANCELLED)
    Message.objects.filter(send=send).update(status=MessageStatus.FAILED)
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        with transaction.atomic():
            insert_many(
                Message,
                ["conversation_id", "body", "encoding", "segments", "next_attempt_at", "cost"],
                rows[start : start + BATCH],
                same={
                    "direction": "out",
                    "status": MessageStatus.FAILED,
                    "our_number": setup.simulated.number,
                    "provider": "simulator",
                    "priority": 1,
                },
            )
    bare = time.perf_counter() - started
    rate, bare_rate = queued / elapsed, len(rows) / bare
    print(
        f"expansion ({db}): {queued:,} recipients rendered and queued in {elapsed:.1f} s = "
        f"{rate:,.0f}/s (first texts to each: conversations created too); writing the same "
        f"rows alone {bare_rate:,.0f}/s; ratio {rate / bare_rate:.2f}; "
        f"against the 20,000/s target: {rate / 20_000:.2f}x"
    )


def dispatch_capacity(setup: Setup, base_url: str, contact_ids: list[int]) -> None:
    import httpx

    from textdesk.campaigns.expansion import expand_next_batch
    from textdesk.conversations.models import Message
    from textdesk.messaging.dispatch import CONCURRENCY, dispatch_due_messages
    from textdesk.messaging.status import MessageStatus

    segment = setup.segment("Dispatch", contact_ids[:DISPATCH_MESSAGES])
    send = setup.create_send(segment, setup.twilio, "Your FAFSA is due Friday.")
    while expand_next_batch():
        pass
    queued = Message.objects.filter(send=send, status=MessageStatus.QUEUED)
    count = queued.count()
    forms = [
        {
            "From": setup.twilio.number,
            "To": to,
            "Body": "Your FAFSA is due Friday.",
            "StatusCallback": f"https://textdesk.example.edu/webhooks/twilio/status/{pk}",
        }
        for pk, to in queued.values_list("pk", "conversation__contact__phone")
    ]
    started = time.perf_counter()
    while dispatch_due_messages("bench"):
        pass
    ours = time.perf_counter() - started
    left = Message.objects.filter(send=send, status=MessageStatus.QUEUED).count()
    if left:
        raise SystemExit(f"{left} texts were not handed over")

    async def bare() -> float:
        url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        gate = asyncio.Semaphore(32)
        async with httpx.AsyncClient(auth=(ACCOUNT_SID, AUTH_TOKEN), limits=limits) as client:

            async def post(form: dict) -> None:
                async with gate:
                    response = await client.post(url, data=form)
                    response.raise_for_status()

            began = time.perf_counter()
            await asyncio.gather(*(post(form) for form in forms))
            return time.perf_counter() - began

    baseline = asyncio.run(bare())
    ours_rate, bare_rate = count / ours, len(forms) / baseline
    print(
        f"dispatch: {count:,} texts to a fake Twilio on loopback, no rate limit: "
        f"{ours_rate:,.0f}/s ({CONCURRENCY} threads); a bare async httpx client posting the "
        f"same requests: {bare_rate:,.0f}/s; ratio {ours_rate / bare_rate:.2f} (target >= 0.5)"
    )


def pacing(setup: Setup, seconds: float) -> None:
    from django.db.models import Sum

    from textdesk.campaigns.models import Send
    from textdesk.campaigns.review import review_send
    from textdesk.conversations.actions import send_reply
    from textdesk.conversations.models import Message
    from textdesk.inboxes.models import PhoneNumber
    from textdesk.messaging.status import MessageStatus

    number = PhoneNumber.objects.create(
        number="+16175550102",
        inbox=setup.inbox,
        provider="simulator",
        segments_per_second=PACING_RATE,
    )
    # Every third text is two segments: the send costs (4/3) segments a recipient.
    recipients = int(seconds * PACING_RATE * 3 / 4)
    ids = setup.contacts(recipients, prefix="857", long_every=3)
    segment = setup.segment("Pacing", ids)
    body = "Hi {first_name}, the registration for orientation closes on Friday at noon."
    # Someone to answer one-to-one while the send runs: a conversation already on the number.
    student = setup.contacts(1, prefix="858")
    lone = setup.segment("Lone", student)
    first = setup.create_send(lone, number, "Welcome!")
    worker = Worker()
    try:
        wait_for(lambda: Send.objects.get(pk=first.pk).status == Send.Status.DONE, 30)
        conversation = Message.objects.get(send=first).conversation
        estimate = review_send(
            inbox=setup.inbox,
            phone_number=number,
            segments=[segment],
            excluded_segments=[],
            body=body,
            media_urls=[],
            outside_window="wait",
            start_at=None,
        ).estimate
        pressed = time.perf_counter()
        send = setup.create_send(segment, number, body)
        time.sleep(seconds / 2)
        queued = Message.objects.filter(send=send, status=MessageStatus.QUEUED)
        ahead = queued.aggregate(cost=Sum("cost"))["cost"] or 0
        reply = send_reply(setup.user, conversation, "Yes, you can still register!")
        waited = wait_for(
            lambda: Message.objects.filter(pk=reply.pk, sent_at__isnull=False).exists(), 60
        )
        wait_for(lambda: Send.objects.get(pk=send.pk).status == Send.Status.DONE, seconds * 3, 0.05)
        actual = time.perf_counter() - pressed
    finally:
        worker.close()
    handed = list(
        Message.objects.filter(our_number=number.number, sent_at__gte=send.started_at)
        .order_by("sent_at")
        .values_list("sent_at", "cost")
    )
    span = (handed[-1][0] - handed[0][0]).total_seconds()
    # The slope of segments handed over against time (least squares): texts go out in rounds
    # of a quarter second, so first-to-last alone would be off by up to a round's worth.
    times = [(moment - handed[0][0]).total_seconds() for moment, _ in handed]
    totals = list(itertools.accumulate(cost for _, cost in handed))
    achieved = statistics.linear_regression(times, totals).slope
    print(
        f"pacing: {len(handed):,} texts, {sum(c for _, c in handed):,.0f} segments in "
        f"{span:.1f} s = {achieved:.2f} segments/s at a configured {PACING_RATE:g}; "
        f"ratio {achieved / PACING_RATE:.4f} (target within 2%)"
    )
    slot = 1 / PACING_RATE
    print(
        f"reply during the send: handed over {waited:.2f} s after it was typed, with "
        f"{ahead:,.0f} segments of the send queued ahead ({ahead / PACING_RATE:.0f} s of "
        f"sending); a slot is {slot * 1000:.0f} ms and the dispatcher plans "
        f"{0.25 * 1000:.0f} ms rounds: {waited / slot:.1f} slots"
    )
    estimated = estimate.duration.total_seconds()
    print(
        f"estimate: {estimated:.1f} s shown before sending; actual {actual:.1f} s from Send to "
        f"done; error {(actual - estimated) / estimated * 100:+.1f}% (target within 5%)"
    )


def run(args, base_url: str) -> None:
    setup = Setup()
    big = setup.contacts(args.big, prefix="617", long_every=0)
    spin_up(setup, [size for size in (10_000, args.big) if size <= args.big], big)
    fresh = setup.contacts(args.big, prefix="781")
    expansion(setup, args.db, fresh)
    dispatch_capacity(setup, base_url, big)
    pacing(setup, args.pacing_seconds)


if __name__ == "__main__":
    main()
