"""Quiet hours in each recipient's own time, across zones and a daylight-saving change; and a
STOP arriving in the middle of a send."""

from datetime import UTC, datetime, time

from textdesk.campaigns import actions
from textdesk.campaigns.expansion import expand_batch
from textdesk.contacts.models import Segment
from textdesk.conversations.models import Message
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import create_contact, drain, receive_text

# 2027-03-14 is the day US clocks go forward (02:00 -> 03:00 local).
BEFORE_DAWN = datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 03:30 EDT, 00:30 PDT, 21:30 HST (13th)


def send_to(world, contacts, **kwargs):
    name = f"Audience {Segment.objects.count() + 1}"
    segment = Segment.objects.create(team=world.admissions, name=name, kind="static")
    segment.members.add(*contacts)
    return actions.create_send(
        world.alice,
        inbox=world.shared,
        phone_number=world.shared.phone_numbers.get(),
        segments=[segment],
        body="Open day is Saturday!",
        confirmed=True,
        **kwargs,
    )


def test_each_recipient_waits_for_eight_in_their_own_zone_on_the_day_clocks_change(world):
    world.admissions.time_zone = "America/Chicago"
    world.admissions.save()
    new_york = create_contact(world.admissions, "+16175550190", time_zone="America/New_York")
    los_angeles = create_contact(world.admissions, "+16175550191", time_zone="America/Los_Angeles")
    honolulu_by_number = create_contact(world.admissions, "+18085550192")  # no zone of its own
    send = send_to(world, [new_york, los_angeles, honolulu_by_number])
    expand_batch(send, 100, BEFORE_DAWN)
    due = dict(
        Message.objects.filter(send=send).values_list("conversation__contact", "next_attempt_at")
    )
    assert due == {
        new_york.pk: datetime(2027, 3, 14, 12, 0, tzinfo=UTC),  # 08:00 EDT, already summer time
        los_angeles.pk: datetime(2027, 3, 14, 15, 0, tzinfo=UTC),  # 08:00 PDT
        honolulu_by_number.pk: datetime(2027, 3, 14, 18, 0, tzinfo=UTC),  # 08:00 HST, no DST
    }


def test_a_stricter_window_holds_and_skipping_leaves_them_out(world):
    world.shared.window_start, world.shared.window_end = time(10, 0), time(16, 0)
    world.shared.save()
    new_york = create_contact(world.admissions, "+16175550190", time_zone="America/New_York")
    send = send_to(world, [new_york], outside_window="skip")
    expand_batch(send, 100, datetime(2027, 3, 15, 14, 30, tzinfo=UTC))  # 10:30 EDT: inside
    assert Message.objects.filter(send=send).count() == 1
    later = send_to(world, [new_york], outside_window="skip")
    expand_batch(later, 100, datetime(2027, 3, 15, 20, 30, tzinfo=UTC))  # 16:30 EDT: outside
    assert not Message.objects.filter(send=later).exists()


def test_a_stop_texted_in_the_middle_of_a_send_stops_the_rest_for_them(world):
    world.shared.window_start, world.shared.window_end = time(0, 0), time(23, 59, 59)
    world.shared.save()
    people = [create_contact(world.admissions, f"+1617555{200 + n:04d}") for n in range(6)]
    quitter = people[3]
    send = send_to(world, people)
    expand_batch(send, 100, datetime.now(UTC))  # every text queued, none handed over yet
    receive_text(world.shared, "STOP", sender=quitter.phone)
    drain()
    to_quitter = list(
        CarrierMessage.objects.filter(direction="mt", handset=quitter.phone).values_list(
            "body", flat=True
        )
    )
    assert to_quitter == [world.admissions.opt_out_reply]
    assert CarrierMessage.objects.filter(direction="mt").count() == 6  # 5 texts + 1 confirmation
    stopped = Message.objects.get(send=send, conversation__contact=quitter, direction="out")
    assert (stopped.status, stopped.error_code) == ("failed", "21610")
