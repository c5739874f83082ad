"""Keywords change consent once, answer once, and every path to a contact honours the result:
replies, new conversations, sends, and the handover to the provider."""

import pytest
from django.core import mail

from conftest import PUBLIC_URL, TWILIO_ACCOUNT_SID, twilio_signature
from textdesk.compliance.models import AuditEvent, ConsentChange, PersonalOptOut
from textdesk.contacts.models import Contact
from textdesk.conversations.actions import SendRefused, send_reply, start_conversation
from textdesk.conversations.models import Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import (
    STUDENT_NUMBER,
    at_once,
    create_inbox,
    create_world,
    drain,
    receive_text,
    unique_sid,
)

OPT_OUT_REPLY = Message.Compliance.OPT_OUT_REPLY


def texts_to(number: str = STUDENT_NUMBER) -> list[str]:
    """What the student's phone received, oldest first."""
    return list(
        CarrierMessage.objects.filter(direction="mt", handset=number)
        .order_by("pk")
        .values_list("body", flat=True)
    )


def student(team) -> Contact:
    return Contact.objects.get(team=team, phone=STUDENT_NUMBER)


def test_stop_opts_out_and_gets_exactly_one_confirmation(world):
    receive_text(world.shared, "Hi, is my application complete?")
    stop = receive_text(world.shared, "Stop!")
    again = receive_text(world.shared, "STOP")
    drain()

    contact = student(world.admissions)
    assert contact.consent == Contact.Consent.OPTED_OUT
    assert texts_to() == [world.admissions.opt_out_reply]
    stop.refresh_from_db()
    again.refresh_from_db()
    assert (stop.compliance, again.compliance) == ("opt_out", "opt_out")  # both shown as such
    change = ConsentChange.objects.get()
    assert (change.cause, change.detail, change.opted_out, change.message) == (
        "keyword",
        "Stop!",
        True,
        stop,
    )
    assert AuditEvent.objects.filter(action="consent.opted_out").count() == 1
    conversation = stop.conversation
    conversation.refresh_from_db()
    assert not conversation.needs_reply  # answered by the confirmation; nothing for a person


@pytest.mark.django_db(transaction=True)
def test_the_same_stop_delivered_twice_at_once_answers_once():
    world = create_world()
    PhoneNumber.objects.filter(inbox=world.shared).update(number="+16175550111", provider="twilio")
    params = {
        "MessageSid": unique_sid(),
        "AccountSid": TWILIO_ACCOUNT_SID,
        "From": STUDENT_NUMBER,
        "To": "+16175550111",
        "Body": "STOP",
        "NumMedia": "0",
    }
    signature = twilio_signature(PUBLIC_URL + "/webhooks/twilio/messages", params)

    def deliver() -> int:
        from django.test import Client

        response = Client().post(
            "/webhooks/twilio/messages", params, headers={"X-Twilio-Signature": signature}
        )
        return response.status_code

    statuses = at_once(deliver, deliver, deliver, deliver)

    assert statuses == [200] * 4
    assert Message.objects.filter(compliance=OPT_OUT_REPLY).count() == 1
    assert ConsentChange.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_different_stops_at_once_answer_once():
    world = create_world()
    at_once(*(lambda w=w: receive_text(world.shared, w) for w in ["STOP", "stop", "Quit", "END"]))

    assert Message.objects.filter(compliance="opt_out").count() == 4
    assert Message.objects.filter(compliance=OPT_OUT_REPLY).count() == 1
    assert ConsentChange.objects.count() == 1


def test_nobody_can_reply_to_someone_who_opted_out_and_the_box_says_why(world, client):
    conversation = receive_text(world.shared, "STOP").conversation
    with pytest.raises(SendRefused, match=r"opted out of texts from Admissions.*START"):
        send_reply(world.alice, conversation, "Sorry to see you go!")
    with pytest.raises(SendRefused, match="opted out"):
        start_conversation(world.bob, world.shared, STUDENT_NUMBER, "Hello?")
    with pytest.raises(SendRefused, match="opted out"):
        start_conversation(world.alice, world.alice_personal, STUDENT_NUMBER, "Hello?")

    client.force_login(world.bob)
    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/")
    html = page.content.decode()
    assert "has opted out of texts from Admissions" in html
    reply_box = html.split('name="body"')[1].split(">")[0]
    assert "disabled" in reply_box
    response = client.post(
        f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/reply/",
        {"body": "Are you sure?"},
    )
    assert response.status_code == 422
    assert Message.objects.filter(sent_by=world.bob).count() == 0


def test_start_unstop_and_yes_opt_back_in_with_a_confirmation(world):
    receive_text(world.shared, "STOP")
    start = receive_text(world.shared, "start")
    drain()
    assert student(world.admissions).consent == Contact.Consent.SUBSCRIBED
    assert texts_to() == [world.admissions.opt_out_reply, world.admissions.opt_in_reply]
    start.refresh_from_db()
    assert start.compliance == "opt_in"

    receive_text(world.shared, "UNSUBSCRIBE")
    receive_text(world.shared, "Yes")  # YES after an opt-out means START
    drain()
    assert student(world.admissions).consent == Contact.Consent.SUBSCRIBED
    assert len(texts_to()) == 4

    yes = receive_text(world.shared, "YES")  # and otherwise it is an answer to a question
    drain()
    yes.refresh_from_db()
    assert yes.compliance == ""
    assert yes.conversation.needs_reply
    assert len(texts_to()) == 4
    assert [c.cause for c in ConsentChange.objects.order_by("pk")] == ["keyword"] * 4


def test_help_is_answered_even_after_an_opt_out_but_not_twice_in_a_row(world):
    receive_text(world.shared, "STOP")
    receive_text(world.shared, "HELP")
    receive_text(world.shared, "info")
    drain()
    assert texts_to() == [world.admissions.opt_out_reply, world.admissions.help_reply]
    assert student(world.admissions).consent == Contact.Consent.OPTED_OUT


def test_a_stop_to_a_shared_inbox_covers_the_team_and_no_other_team(world):
    receive_text(world.shared, "STOP")
    receive_text(world.charlie_inbox, "Hi, about my aid package")
    drain()
    assert student(world.financial_aid).consent == Contact.Consent.SUBSCRIBED
    send_reply(world.charlie, student(world.financial_aid).conversations.get(), "Hi! Yes.")
    with pytest.raises(SendRefused):
        start_conversation(world.alice, world.alice_personal, STUDENT_NUMBER, "It's Alice")
    assert not PersonalOptOut.objects.exists()


def test_a_stop_to_a_personal_inbox_covers_every_personal_inbox_of_the_organisation(world):
    charlie_line = create_inbox(
        world.financial_aid, "Charlie's line", "+16175550104", owner=world.charlie
    )
    receive_text(world.alice_personal, "stop")
    drain()
    assert student(world.admissions).consent == Contact.Consent.OPTED_OUT
    assert PersonalOptOut.objects.filter(phone=STUDENT_NUMBER).exists()
    with pytest.raises(SendRefused, match="personal inboxes"):
        start_conversation(world.charlie, charlie_line, STUDENT_NUMBER, "Charlie here")
    # Financial Aid's shared inbox is another team's: it may still text them.
    start_conversation(world.charlie, world.charlie_inbox, STUDENT_NUMBER, "Your aid is ready")
    assert {c.scope for c in ConsentChange.objects.all()} == {"team", "personal"}

    receive_text(charlie_line, "START")  # from any personal inbox, back in for all of them
    drain()
    assert not PersonalOptOut.objects.exists()
    start_conversation(world.charlie, charlie_line, STUDENT_NUMBER, "Charlie here")


def test_a_reply_queued_before_the_stop_is_not_handed_over_after_it(world):
    conversation = receive_text(world.shared, "Hi!").conversation
    send_reply(world.alice, conversation, "Hello! How can I help?")
    receive_text(world.shared, "STOP")  # arrives before the worker's next round
    drain()
    assert texts_to() == [world.admissions.opt_out_reply]
    failed = Message.objects.get(sent_by=world.alice)
    assert (failed.status, failed.error_code) == ("failed", "21610")


def test_a_sentence_that_reads_as_a_revocation_is_flagged_for_a_person(world):
    message = receive_text(world.shared, "Please stop texting me")
    drain()
    message.refresh_from_db()
    assert message.compliance == "possible_opt_out"
    assert message.conversation.needs_reply
    assert student(world.admissions).consent == Contact.Consent.SUBSCRIBED
    assert texts_to() == []


def test_opt_outs_and_texts_from_unknown_numbers_are_emailed_to_the_chosen_addresses(world):
    world.admissions.notify_emails = "dean@example.edu, compliance@example.edu"
    world.admissions.save()
    receive_text(world.shared, "Hi, who is this?")
    receive_text(world.shared, "STOP")
    receive_text(world.charlie_inbox, "Hello")  # Financial Aid chose nobody
    drain()
    subjects = sorted(email.subject for email in mail.outbox)
    assert subjects == [
        "[Textdesk · Admissions] (617) 555-0142 opted out",
        "[Textdesk · Admissions] A text from an unknown number in Admissions",
    ]
    assert all(email.to == ["dean@example.edu", "compliance@example.edu"] for email in mail.outbox)
    assert "Hi, who is this?" in next(e.body for e in mail.outbox if "unknown" in e.subject)


def revocation_url(message) -> str:
    conversation = message.conversation
    return (
        f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}"
        f"/messages/{message.pk}/revocation/"
    )


def test_one_click_confirms_a_flagged_revocation_and_sends_the_confirmation(world, client):
    message = receive_text(world.shared, "please remove me from this list")
    client.force_login(world.bob)
    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{message.conversation_id}/")
    assert "Opt them out" in page.content.decode()

    response = client.post(revocation_url(message), {"decision": "opt_out"})
    again = client.post(revocation_url(message), {"decision": "opt_out"})
    drain()

    assert response.status_code == again.status_code == 302
    message.refresh_from_db()
    assert message.compliance == "confirmed_opt_out"
    assert student(world.admissions).consent == Contact.Consent.OPTED_OUT
    change = ConsentChange.objects.get()
    assert (change.cause, change.actor, change.detail) == (
        "confirmed",
        world.bob,
        "please remove me from this list",
    )
    assert texts_to() == [world.admissions.opt_out_reply]


def test_not_an_opt_out_clears_the_flag_and_is_audited(world, client):
    message = receive_text(world.shared, "Don't text me before noon please")
    client.force_login(world.alice)
    client.post(revocation_url(message), {"decision": "keep"})
    message.refresh_from_db()
    assert message.compliance == "not_opt_out"
    assert student(world.admissions).consent == Contact.Consent.SUBSCRIBED
    assert AuditEvent.objects.filter(action="consent.not_a_revocation", actor=world.alice).exists()


def test_outsiders_cannot_decide_a_revocation(world, client):
    message = receive_text(world.shared, "stop texting me")
    client.force_login(world.charlie)
    assert client.post(revocation_url(message), {"decision": "opt_out"}).status_code == 404
    message.refresh_from_db()
    assert message.compliance == "possible_opt_out"


def test_a_send_from_a_personal_inbox_leaves_out_whoever_opted_out_of_personal_inboxes(world):
    from datetime import time

    from textdesk.campaigns import actions as sends
    from textdesk.campaigns.review import review_send
    from textdesk.contacts.models import Segment

    charlie_line = create_inbox(
        world.financial_aid, "Charlie's line", "+16175550104", owner=world.charlie
    )
    receive_text(charlie_line, "STOP")  # to a personal inbox of another team
    world.alice_personal.window_start, world.alice_personal.window_end = time(0), time(23, 59)
    world.alice_personal.save()
    segment = Segment.objects.create(team=world.admissions, name="Mine", kind="static")
    stopped = Contact.objects.create(team=world.admissions, phone=STUDENT_NUMBER)
    other = Contact.objects.create(team=world.admissions, phone="+16175550190")
    segment.members.add(stopped, other)
    review = review_send(
        inbox=world.alice_personal,
        phone_number=world.alice_personal.phone_numbers.get(),
        segments=[segment],
        excluded_segments=[],
        body="Hi from Alice",
        media_urls=[],
        outside_window="wait",
        start_at=None,
    )
    assert (review.recipients, review.excluded) == (1, {"opted_out": 1})
    sends.create_send(
        world.alice,
        inbox=world.alice_personal,
        phone_number=world.alice_personal.phone_numbers.get(),
        segments=[segment],
        body="Hi from Alice",
    )
    drain()
    assert texts_to() == [world.financial_aid.opt_out_reply]  # the confirmation, nothing else
    assert texts_to("+16175550190") == ["Hi from Alice"]
