"""The delivery engine: expansion, exclusions, pacing, fair turns, replies first, opt-outs,
pause and cancel, and reconciliation of interrupted handovers."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from textdesk.campaigns import actions
from textdesk.campaigns.expansion import FIRST_BATCH, expand_batch
from textdesk.campaigns.models import Send, SendExclusion
from textdesk.contacts.models import Contact, ContactField, Segment
from textdesk.conversations.actions import send_reply
from textdesk.conversations.models import Conversation, Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.messaging.dispatch import dispatch_due_messages
from textdesk.messaging.models import WorkerHeartbeat
from textdesk.messaging.worker import release_claims_of_dead_workers, run_once
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import create_contact, drain, receive_text


@pytest.fixture(autouse=True)
def _window_always_open(world):
    """Unless a test says otherwise, bulk texts may go out at any hour."""
    world.shared.window_start, world.shared.window_end = time(0, 0), time(23, 59, 59)
    world.shared.save()


def audience(world, count: int, **fields) -> Segment:
    segment = Segment.objects.create(team=world.admissions, name=f"List {count}", kind="static")
    contacts = [
        create_contact(world.admissions, f"+1617200{n:04d}", first_name=f"Stu{n}", **fields)
        for n in range(count)
    ]
    segment.members.add(*contacts)
    return segment


def start(world, segment, body="Hi {first_name}, open day is Saturday!", **kwargs) -> Send:
    return actions.create_send(
        world.alice,
        inbox=world.shared,
        phone_number=world.shared.phone_numbers.get(),
        segments=[segment],
        body=body,
        confirmed=True,
        **kwargs,
    )


def test_every_recipient_gets_their_text_exactly_once(world):
    segment = audience(world, 30)
    send = start(world, segment)
    assert send.status == "sending"
    drain()
    send.refresh_from_db()
    assert (send.status, send.queued_count, send.expansion_done) == ("done", 30, True)
    texts = CarrierMessage.objects.filter(direction="mt")
    assert texts.count() == 30
    assert len({t.handset for t in texts}) == 30
    assert texts.get(handset="+16172000007").body == "Hi Stu7, open day is Saturday!"
    assert Conversation.objects.filter(inbox=world.shared).count() == 30
    assert not Contact.objects.filter(team=world.admissions, last_texted_at__isnull=True).exists()


def test_the_first_batch_is_small_so_the_first_text_goes_out_at_once(world):
    segment = audience(world, FIRST_BATCH + 50)
    send = start(world, segment)
    run_once()  # one worker round after Send
    send.refresh_from_db()
    assert send.queued_count == FIRST_BATCH
    assert CarrierMessage.objects.exists()  # already handed over in the same round


def test_a_sparse_audience_among_other_teams_contacts_is_walked_once_in_small_batches(world):
    """Batches walk windows of contact ids: gaps (other teams' contacts, people not in the
    segment) cost windows, never a recipient missed or texted twice."""
    members = []
    for n in range(40):
        create_contact(world.financial_aid, f"+1617300{n:04d}")
        contact = create_contact(world.admissions, f"+1617200{n:04d}", first_name=f"Stu{n}")
        if n % 4 == 0:
            members.append(contact)
    segment = Segment.objects.create(team=world.admissions, name="Sparse", kind="static")
    segment.members.add(*members)
    earlier = receive_text(world.shared, "Is the deadline Friday?", sender=members[1].phone)
    send = start(world, segment)
    batches = 0
    while not Send.objects.get(pk=send.pk).expansion_done:
        expand_batch(Send.objects.get(pk=send.pk), 3, timezone.now())
        batches += 1
    assert batches >= 4
    texted = list(Message.objects.filter(send=send).values_list("conversation__contact", flat=True))
    assert sorted(texted) == [c.pk for c in members]
    previews = dict(
        Conversation.objects.filter(inbox=world.shared).values_list(
            "contact__first_name", "preview"
        )
    )
    assert previews == {c.first_name: f"Hi {c.first_name}, open day is Saturday!" for c in members}
    earlier.conversation.refresh_from_db()
    assert earlier.conversation.needs_reply  # a send is not an answer


def test_every_merge_field_is_filled_in_each_recipients_text(world):
    ContactField.objects.create(team=world.admissions, key="student_id", label="Student ID")
    segment = audience(world, 2)
    ada, nameless = segment.members.order_by("pk")
    ada.first_name, ada.last_name, ada.owner = "Ada", "Lovelace", world.bob
    ada.fields = {"student_id": "S-42"}
    ada.save()
    nameless.first_name, nameless.fields = "", {"student_id": 7}
    nameless.save()
    start(
        world,
        segment,
        body="Hi {first_name|there} ({full_name}), {owner_name} here: {student_id}, {phone}.",
    )
    drain()
    bodies = dict(CarrierMessage.objects.values_list("handset", "body"))
    assert bodies == {ada.phone: "Hi Ada (Ada Lovelace), Bob Baker here: S-42, (617) 200-0000."}
    left_out = SendExclusion.objects.get()
    assert (left_out.contact, left_out.detail) == (
        nameless,
        "No value for {full_name}, {owner_name}",
    )


def test_people_who_cannot_get_the_text_are_excluded_with_reasons(world):
    ContactField.objects.create(team=world.admissions, key="program", label="Program")
    segment = audience(world, 3)
    ok, out, landline = segment.members.order_by("pk")
    ok.fields = {"program": "Nursing"}
    ok.save()
    out.consent = Contact.Consent.OPTED_OUT
    out.fields = {"program": "Law"}
    out.save()
    landline.phone = "+442079460000"
    landline.fields = {"program": "Art"}
    landline.save()
    nameless = create_contact(world.admissions, "+16172009999")
    segment.members.add(nameless)
    send = start(world, segment, body="Your {program} interview is set")
    drain()
    send.refresh_from_db()
    assert CarrierMessage.objects.get().handset == ok.phone
    reasons = dict(SendExclusion.objects.values_list("contact_id", "reason"))
    assert reasons == {
        out.pk: "opted_out",
        landline.pk: "invalid_number",
        nameless.pk: "missing_value",
    }
    assert send.excluded == {"opted_out": 1, "invalid_number": 1, "missing_value": 1}


def test_a_stop_during_a_send_stops_the_rest_for_that_contact(world):
    segment = audience(world, 5)
    send = start(world, segment)
    expand_batch(send, 100, timezone.now())
    quitter = Contact.objects.get(phone="+16172000003")
    quitter.consent = Contact.Consent.OPTED_OUT
    quitter.save()
    drain()
    assert not CarrierMessage.objects.filter(handset=quitter.phone).exists()
    failed = Message.objects.get(send=send, conversation__contact=quitter)
    assert (failed.status, failed.error_code) == ("failed", "21610")
    assert CarrierMessage.objects.count() == 4


def test_outside_the_window_a_text_waits_or_is_skipped(world):
    world.shared.window_start, world.shared.window_end = time(9, 0), time(17, 0)
    world.shared.save()
    segment = audience(world, 1, time_zone="America/Chicago")
    night = datetime(2027, 3, 10, 4, 0, tzinfo=UTC)  # 22:00 in Chicago
    waiting = start(world, segment)
    expand_batch(waiting, 100, night)
    message = Message.objects.get(send=waiting)
    assert message.next_attempt_at == datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
    assert message.local_zone == "America/Chicago"

    skipping = start(world, segment, outside_window="skip")
    expand_batch(skipping, 100, night)
    assert not Message.objects.filter(send=skipping).exists()
    assert SendExclusion.objects.get(send=skipping).reason == "outside_window"


def test_a_due_text_whose_window_has_closed_waits_for_it_to_open(world):
    world.shared.window_start, world.shared.window_end = time(0, 0), time(0, 1)
    world.shared.save()  # open only one minute a day: almost surely closed now
    segment = audience(world, 1, time_zone="UTC")
    send = start(world, segment)
    expand_batch(send, 100, timezone.now().replace(hour=0, minute=0, second=30))
    Message.objects.filter(send=send).update(next_attempt_at=timezone.now())
    if timezone.now().hour == 0 and timezone.now().minute == 0:
        pytest.skip("it is the one open minute")
    dispatch_due_messages()
    message = Message.objects.get(send=send)
    assert message.status == "queued"
    assert message.next_attempt_at > timezone.now()
    assert not CarrierMessage.objects.exists()


def slow_number(world, rate: float = 1.0) -> PhoneNumber:
    number = world.shared.phone_numbers.get()
    number.segments_per_second = rate
    number.save()
    return number


def free(number: PhoneNumber) -> None:
    """Let time pass for the pacer (without sleeping)."""
    PhoneNumber.objects.filter(pk=number.pk).update(next_free_at=timezone.now())


def test_the_pacer_charges_each_text_its_segments(world):
    number = slow_number(world, rate=4.0)
    segment = audience(world, 3)
    send = start(world, segment, body="x" * 200)  # 2 segments each
    expand_batch(send, 100, timezone.now())
    before = timezone.now()
    assert dispatch_due_messages() == 1  # a round may use 0.25 s of 4 seg/s: one 2-segment text
    number.refresh_from_db()
    assert Message.objects.get(send=send, status="sent").cost == 2
    spent = (number.next_free_at - before).total_seconds()
    assert 0.5 <= spent < 0.6  # 2 segments at 4 a second
    assert dispatch_due_messages() == 0  # and the number waits for it


def test_a_reply_typed_during_a_big_send_goes_out_in_the_next_slot(world):
    number = slow_number(world)
    segment = audience(world, 20)
    send = start(world, segment)
    expand_batch(send, 100, timezone.now())
    dispatch_due_messages()
    student = receive_text(world.shared, "Quick question!", sender="+16175550142").conversation
    reply = send_reply(world.bob, student, "Sure, ask away")
    free(number)
    assert dispatch_due_messages() == 1
    reply.refresh_from_db()
    assert reply.status == "sent"  # before the 19 bulk texts still waiting


def test_two_sends_on_one_number_take_turns(world):
    number = slow_number(world)
    first = start(world, audience(world, 6))
    expand_batch(first, 100, timezone.now())
    dispatch_due_messages()  # the first send alone for a while
    free(number)
    dispatch_due_messages()
    other = Segment.objects.create(team=world.admissions, name="Other", kind="static")
    other.members.add(
        *[create_contact(world.admissions, f"+1617300{n:04d}", first_name="B") for n in range(6)]
    )
    second = start(world, other)
    expand_batch(second, 100, timezone.now())
    order = []
    for _ in range(8):
        free(number)
        dispatch_due_messages()
        latest = Message.objects.filter(status="sent").order_by("-sent_at", "-id").first()
        order.append("A" if latest.send_id == first.pk else "B")
    assert order == ["A", "B", "A", "B", "A", "B", "A", "B"]


def test_a_paused_send_waits_and_a_cancelled_one_withdraws_what_is_left(world):
    segment = audience(world, 10)
    send = start(world, segment)
    expand_batch(send, 100, timezone.now())
    assert actions.pause_send(world.alice, send)
    drain()
    assert not CarrierMessage.objects.exists()
    assert actions.resume_send(world.alice, send)
    slow_number(world)
    dispatch_due_messages()
    withdrawn = actions.cancel_send(world.alice, send)
    send.refresh_from_db()
    assert send.status == "cancelled"
    assert withdrawn == 9
    drain()
    assert CarrierMessage.objects.count() == 1


def test_a_text_already_at_the_provider_is_recorded_not_sent_again(world):
    """A worker died after the carrier took the text but before recording it."""
    segment = audience(world, 1)
    send = start(world, segment)
    expand_batch(send, 100, timezone.now())
    message = Message.objects.get(send=send)
    CarrierMessage.objects.create(
        sid="SIMalready",
        message_id=message.pk,
        handset="+16172000000",
        service_number=message.our_number,
        direction="mt",
        body=message.body,
    )
    WorkerHeartbeat.objects.create(
        name="dead-worker",
        started_at=timezone.now() - timedelta(minutes=5),
        seen_at=timezone.now() - timedelta(minutes=5),
    )
    Message.objects.filter(pk=message.pk).update(
        claimed_by="dead-worker",
        claimed_until=timezone.now() + timedelta(minutes=2),
        handoff_started_at=timezone.now() - timedelta(seconds=3),
        attempts=1,
    )
    assert dispatch_due_messages() == 0  # still claimed by the dead worker
    assert release_claims_of_dead_workers(timezone.now()) == 1
    assert dispatch_due_messages() == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", "SIMalready")
    assert CarrierMessage.objects.count() == 1


def test_a_reply_to_a_send_is_linked_to_it(world):
    segment = audience(world, 2)
    send = start(world, segment)
    drain()
    answer = receive_text(world.shared, "Yes, I'll come!", sender="+16172000001")
    assert answer.send_id == send.pk
    elsewhere = receive_text(world.shared, "Unrelated", sender="+16175550177")
    assert elsewhere.send_id is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"segments": []}, "at least one segment"),
        ({"body": "Hi {nickname}"}, "Unknown merge field"),
        ({"body": ""}, "Write the message"),
        ({"confirmed": False}, "Confirm that 60 people"),
        ({"scheduled_at": timezone.now() - timedelta(hours=1)}, "passed"),
    ],
)
def test_a_send_that_cannot_go_out_is_refused_and_nothing_is_created(world, change, message):
    segment = audience(world, 60)
    arguments = {
        "inbox": world.shared,
        "phone_number": world.shared.phone_numbers.get(),
        "segments": [segment],
        "body": "Hello!",
        "confirmed": True,
    } | change
    with pytest.raises(actions.SendRefused, match=message):
        actions.create_send(world.alice, **arguments)
    assert not Send.objects.exists()


def test_someone_without_the_inbox_cannot_send_from_it(world):
    segment = audience(world, 2)
    with pytest.raises(actions.SendRefused, match="access"):
        actions.create_send(
            world.charlie,
            inbox=world.shared,
            phone_number=world.shared.phone_numbers.get(),
            segments=[segment],
            body="Hi",
            confirmed=True,
        )
