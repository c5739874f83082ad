"""Answers by reply: yes and no words, change of mind, the "which event?" question, capacity,
the waitlist and its offers, and what stays an ordinary text."""

from datetime import timedelta

import pytest
from django.utils import timezone

from textdesk.campaigns import actions as sends
from textdesk.contacts.models import Contact, Segment
from textdesk.conversations.models import Message, Note
from textdesk.events.models import Event, EventQuestion, Invitation, InvitationChange
from textdesk.events.rsvp import event_values, expire_offers
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import STUDENT_NUMBER, create_contact, drain, receive_text

Status = Invitation.Status


def make_event(world, name="Open Day", *, capacity=None, days=10, **fields) -> Event:
    starts = timezone.now() + timedelta(days=days)
    return Event.objects.create(
        team=world.admissions,
        inbox=world.shared,
        name=name,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        location="Great Hall",
        capacity=capacity,
        **fields,
    )


def invite(event, phone=STUDENT_NUMBER, first_name="Sam") -> Invitation:
    contact, _ = Contact.objects.get_or_create(
        team=event.team, phone=phone, defaults={"first_name": first_name}
    )
    return Invitation.objects.create(event=event, contact=contact, invited_at=timezone.now())


def texts_to(number=STUDENT_NUMBER) -> list[str]:
    drain()
    return list(
        CarrierMessage.objects.filter(direction="mt", handset=number)
        .order_by("pk")
        .values_list("body", flat=True)
    )


def status_of(invitation) -> str:
    invitation.refresh_from_db()
    return invitation.status


@pytest.mark.parametrize(
    "body", ["YES", "yes", "Yes!", " y ", "Yep.", "yeah", "SURE", "1", "Y e s"]
)
def test_yes_words_and_their_variants_confirm(world, body):
    invitation = invite(make_event(world))
    message = receive_text(world.shared, body)
    assert status_of(invitation) == Status.CONFIRMED
    when = event_values(invitation.event)["when"]
    assert texts_to() == [f"You're confirmed for Open Day on {when} at Great Hall. See you there!"]
    message.refresh_from_db()
    assert message.event == invitation.event
    assert not message.conversation.needs_reply
    note = Note.objects.get(kind="event")
    assert note.body == "Open Day: confirmed"


@pytest.mark.parametrize("body", ["NO", "no.", "N", "nope", "2", "No!!"])
def test_no_words_and_their_variants_decline(world, body):
    invitation = invite(make_event(world))
    receive_text(world.shared, body)
    assert status_of(invitation) == Status.DECLINED
    assert texts_to() == ["Thanks for letting us know. We're sorry you can't make Open Day."]


def test_an_event_can_have_its_own_words(world):
    invitation = invite(make_event(world, yes_words="OUI, SI", no_words="NON"))
    receive_text(world.shared, "yes")
    assert status_of(invitation) == Status.INVITED
    receive_text(world.shared, "Oui!")
    assert status_of(invitation) == Status.CONFIRMED


def test_a_contact_can_change_their_mind_and_the_history_is_kept(world):
    invitation = invite(make_event(world))
    receive_text(world.shared, "yes")
    receive_text(world.shared, "yes")  # again: told they already are
    receive_text(world.shared, "no")
    receive_text(world.shared, "no")  # again: nothing more
    receive_text(world.shared, "yes")
    assert status_of(invitation) == Status.CONFIRMED
    history = list(invitation.changes.values_list("status", "cause"))
    assert history == [("confirmed", "reply"), ("declined", "reply"), ("confirmed", "reply")]
    bodies = texts_to()
    assert len(bodies) == 4
    assert bodies[1].startswith("You're already confirmed for Open Day")


def test_several_open_events_are_not_guessed_the_contact_is_asked(world):
    open_day = invite(make_event(world, "Open Day", days=5))
    tour = invite(make_event(world, "Campus Tour", days=9))
    receive_text(world.shared, "YES")
    assert (status_of(open_day), status_of(tour)) == (Status.INVITED, Status.INVITED)
    [question] = texts_to()
    assert question.startswith("Which event are you coming to? Reply 1 for Open Day (")
    assert ", 2 for Campus Tour (" in question

    receive_text(world.shared, "2")
    assert (status_of(open_day), status_of(tour)) == (Status.INVITED, Status.CONFIRMED)
    assert EventQuestion.objects.get().resolved_at is not None
    receive_text(world.shared, "no")  # asked again, for a no
    assert texts_to()[-1].startswith("Which event are you not coming to?")
    receive_text(world.shared, "1")
    assert status_of(open_day) == Status.DECLINED


def test_opt_out_words_win_over_rsvp_words(world):
    invitation = invite(make_event(world, no_words="NO, STOP, END"))
    receive_text(world.shared, "STOP")
    assert status_of(invitation) == Status.INVITED
    assert Contact.objects.get(phone=STUDENT_NUMBER).consent == "opted_out"
    assert texts_to() == [world.admissions.opt_out_reply]


def test_a_question_lands_in_the_inbox_marked_with_the_event(world):
    invitation = invite(make_event(world))
    message = receive_text(world.shared, "Is there parking near the Great Hall?")
    message.refresh_from_db()
    assert message.event == invitation.event
    assert message.conversation.needs_reply
    assert status_of(invitation) == Status.INVITED
    assert texts_to() == []


def test_an_unclear_one_word_answer_is_told_what_works_and_shown_to_a_person(world):
    invitation = invite(make_event(world))
    message = receive_text(world.shared, "Maybe")
    assert texts_to() == [
        "Sorry, we didn't get that. Reply YES to come to Open Day or NO if you can't."
    ]
    message.conversation.refresh_from_db()
    assert message.conversation.needs_reply
    assert status_of(invitation) == Status.INVITED


def test_a_reply_without_an_invitation_is_an_ordinary_text(world):
    make_event(world)  # someone else's invitation, if any: none for this number
    message = receive_text(world.shared, "yes")
    message.refresh_from_db()
    assert message.event is None
    assert message.conversation.needs_reply
    assert texts_to() == []
    assert not InvitationChange.objects.exists()


def test_an_ended_event_no_longer_takes_answers(world):
    event = make_event(world, days=-2)
    invitation = invite(event)
    receive_text(world.shared, "yes")
    assert status_of(invitation) == Status.INVITED


def test_full_events_waitlist_and_a_decline_offers_the_place_to_the_first_in_line(world):
    event = make_event(world, capacity=1, offer_hours=2)
    first = invite(event, "+16175550190", "Ann")
    second = invite(event, "+16175550191", "Bo")
    third = invite(event, "+16175550192", "Cy")
    receive_text(world.shared, "yes", sender=first.contact.phone)
    receive_text(world.shared, "yes", sender=second.contact.phone)
    receive_text(world.shared, "yes", sender=third.contact.phone)
    assert [status_of(i) for i in (first, second, third)] == [
        "confirmed",
        "waitlisted",
        "waitlisted",
    ]
    assert texts_to(second.contact.phone)[-1].startswith(
        "Open Day is full, so you're on the waitlist"
    )

    receive_text(world.shared, "no", sender=first.contact.phone)
    assert status_of(second) == Status.OFFERED
    assert texts_to(second.contact.phone)[-1].startswith("A place opened at Open Day on ")
    assert " Reply YES by " in texts_to(second.contact.phone)[-1]

    receive_text(world.shared, "yes", sender=third.contact.phone)  # still waiting behind Bo
    assert status_of(third) == Status.WAITLISTED
    receive_text(world.shared, "yes", sender=second.contact.phone)
    assert status_of(second) == Status.CONFIRMED


def test_an_offer_not_taken_in_time_lapses_and_goes_to_the_next(world):
    event = make_event(world, capacity=1, offer_hours=2)
    first = invite(event, "+16175550190")
    second = invite(event, "+16175550191")
    third = invite(event, "+16175550192")
    for invitation in (first, second, third):
        receive_text(world.shared, "yes", sender=invitation.contact.phone)
    receive_text(world.shared, "no", sender=first.contact.phone)
    assert status_of(second) == Status.OFFERED
    assert expire_offers(timezone.now() + timedelta(hours=1)) == 0
    assert expire_offers(timezone.now() + timedelta(hours=3)) == 1
    assert (status_of(second), status_of(third)) == (Status.LAPSED, Status.OFFERED)


def test_the_same_reply_delivered_twice_answers_once(world, signed_post):
    from conftest import TWILIO_ACCOUNT_SID
    from textdesk.inboxes.models import PhoneNumber
    from textdesk.testing import unique_sid

    PhoneNumber.objects.filter(inbox=world.shared).update(number="+16175550111", provider="twilio")
    invitation = invite(make_event(world))
    params = {
        "MessageSid": unique_sid(),
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": STUDENT_NUMBER,
        "To": "+16175550111",
        "Body": "YES",
        "NumMedia": "0",
    }
    assert signed_post("/webhooks/twilio/messages", params).status_code == 200
    assert signed_post("/webhooks/twilio/messages", params).status_code == 200
    assert status_of(invitation) == Status.CONFIRMED
    assert invitation.changes.count() == 1
    assert Message.objects.filter(direction="out").count() == 1


def test_an_invitation_send_gives_every_recipient_an_open_invitation(world):
    from datetime import time

    world.shared.window_start, world.shared.window_end = time(0), time(23, 59, 59)
    world.shared.save()
    event = make_event(world)
    segment = Segment.objects.create(team=world.admissions, name="Admits", kind="static")
    people = [create_contact(world.admissions, f"+1617555{300 + n:04d}") for n in range(3)]
    segment.members.add(*people)
    already = Invitation.objects.create(
        event=event, contact=people[0], status=Status.CONFIRMED, invited_at=timezone.now()
    )
    send = sends.create_send(
        world.alice,
        inbox=world.shared,
        phone_number=world.shared.phone_numbers.get(),
        segments=[segment],
        body="You're invited to Open Day! Reply YES or NO.",
        confirmed=True,
        event=event,
    )
    drain()
    invitations = dict(Invitation.objects.values_list("contact_id", "status"))
    assert invitations == {
        people[0].pk: "confirmed",  # a reminder does not reset an answer
        people[1].pk: "invited",
        people[2].pk: "invited",
    }
    assert Invitation.objects.get(contact=people[1]).send == send
    assert status_of(already) == Status.CONFIRMED


def test_compose_carries_the_event_through_to_the_send(world, client):
    from datetime import time

    world.shared.window_start, world.shared.window_end = time(0), time(23, 59, 59)
    world.shared.save()
    event = make_event(world)
    segment = Segment.objects.create(team=world.admissions, name="Admits", kind="static")
    segment.members.add(create_contact(world.admissions, "+16175550301"))
    client.force_login(world.alice)
    common = {
        "inbox": world.shared.pk,
        "phone_number": world.shared.phone_numbers.get().pk,
        "segments": segment.pk,
        "event": event.pk,
        "body": "Open Day is on! Reply YES or NO.",
        "outside_window": "wait",
        "when": "now",
    }
    page = client.get("/compose/", common)
    assert "For the event <strong>Open Day</strong>" in page.content.decode()
    response = client.post("/compose/", common | {"step": "send", "confirmed": "yes"})
    assert response.status_code == 302
    drain()
    assert Invitation.objects.get().event == event
