"""A reply from a personal inbox answers the contact for the whole team: the team's shared
inboxes that await a reply from them show who answered, and what (and, by default, stop
waiting). Contacts are per team, so the student texting both inboxes is one Contact."""

import re

from textdesk.conversations import actions
from textdesk.conversations.actions import send_reply, start_conversation
from textdesk.conversations.models import Conversation, Message, Note
from textdesk.live.models import LiveEvent
from textdesk.messaging.worker import run_once
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import STUDENT_NUMBER, create_inbox, receive_text

OTHER_SHARED_NUMBER = "+16175550109"


def page_url(conversation: Conversation) -> str:
    return f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/"


def listed(client, inbox, show: str) -> set[int]:
    response = client.get(f"/inboxes/{inbox.pk}/?show={show}")
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r'data-conversation="(\d+)"', response.content.decode())}


def unreplied_badge(html: str, inbox) -> int:
    switcher = re.search(r'<div id="switcher".*?</ul>', html, re.S)
    assert switcher is not None
    entry = re.search(rf'<a href="/inboxes/{inbox.pk}/".*?</a>', switcher.group(0), re.S)
    assert entry is not None
    badge = re.search(r'<span class="badge"[^>]*>(\d+)</span>', entry.group(0))
    return int(badge.group(1)) if badge else 0


def texted_both(world) -> tuple[Conversation, Conversation]:
    """The student texts the shared inbox, then Alice's personal number."""
    shared = receive_text(world.shared, "Is my application complete?").conversation
    personal = receive_text(world.alice_personal, "Hi Ms. Archer, it's Sam").conversation
    assert shared.contact_id == personal.contact_id
    return shared, personal


def personal_reply_notes(conversation: Conversation):
    return Note.objects.filter(conversation=conversation, kind=Note.Kind.PERSONAL_REPLY)


def test_a_personal_reply_answers_the_shared_conversation(world, client):
    shared, personal = texted_both(world)
    client.force_login(world.bob)
    before = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unreplied_badge(before, world.shared) == 1

    message = send_reply(world.alice, personal, "Yes, it's complete. Welcome!")

    shared.refresh_from_db()
    assert not shared.needs_reply
    assert shared.closed_at is None
    note = personal_reply_notes(shared).get()
    assert (note.author, note.body, note.message) == (
        world.alice,
        "Yes, it's complete. Welcome!",
        message,
    )
    assert not shared.messages.filter(direction=Message.Direction.OUTBOUND).exists()
    assert LiveEvent.objects.filter(
        kind="note", inbox_id=world.shared.pk, conversation_id=shared.pk
    ).exists()

    html = client.get(page_url(shared)).content.decode()
    assert "Answered by Alice Archer from" in html
    assert "personal inbox" in html
    assert "Yes, it&#x27;s complete. Welcome!" in html
    assert listed(client, world.shared, "unreplied") == set()
    assert listed(client, world.shared, "all") == {shared.pk}
    assert unreplied_badge(html, world.shared) == 0


def test_the_reply_goes_to_the_contact_once_from_the_personal_number(world):
    shared, personal = texted_both(world)

    send_reply(world.alice, personal, "Yes, it's complete.")
    run_once()

    sent = CarrierMessage.objects.get(direction=CarrierMessage.Direction.TO_HANDSET)
    assert (sent.handset, sent.service_number, sent.body) == (
        STUDENT_NUMBER,
        personal.phone_number.number,
        "Yes, it's complete.",
    )
    assert not shared.messages.filter(direction=Message.Direction.OUTBOUND).exists()


def test_with_the_setting_off_the_shared_conversation_shows_the_answer_but_stays_unreplied(
    world, client
):
    world.shared.personal_replies_clear_unreplied = False
    world.shared.save()
    shared, personal = texted_both(world)

    send_reply(world.alice, personal, "Yes, it's complete.")

    shared.refresh_from_db()
    assert shared.needs_reply
    assert personal_reply_notes(shared).get().body == "Yes, it's complete."
    client.force_login(world.bob)
    assert listed(client, world.shared, "unreplied") == {shared.pk}
    html = client.get(page_url(shared)).content.decode()
    assert "Answered by Alice Archer from" in html
    assert unreplied_badge(html, world.shared) == 1


def test_a_shared_conversation_already_answered_gets_no_note(world):
    shared, personal = texted_both(world)
    send_reply(world.bob, shared, "Checking now.")

    send_reply(world.alice, personal, "Yes, it's complete.")

    assert not personal_reply_notes(shared).exists()
    assert not Conversation.objects.get(pk=shared.pk).needs_reply


def test_a_shared_conversation_marked_no_reply_needed_gets_no_note(world):
    shared, personal = texted_both(world)
    actions.mark_no_reply_needed(world.bob, shared)

    send_reply(world.alice, personal, "Yes, it's complete.")

    assert not personal_reply_notes(shared).exists()


def test_a_closed_shared_conversation_gets_no_note_and_stays_closed(world):
    shared, personal = texted_both(world)
    actions.close(world.bob, shared)

    send_reply(world.alice, personal, "Yes, it's complete.")

    shared.refresh_from_db()
    assert not personal_reply_notes(shared).exists()
    assert shared.closed_at is not None


def test_another_teams_inbox_is_never_told(world):
    shared, personal = texted_both(world)
    financial_aid = receive_text(world.charlie_inbox, "About my aid package").conversation
    assert financial_aid.contact_id != personal.contact_id  # contacts are per team

    send_reply(world.alice, personal, "Yes, it's complete.")

    financial_aid.refresh_from_db()
    assert financial_aid.needs_reply
    assert not financial_aid.notes.exists()
    assert not LiveEvent.objects.filter(inbox_id=world.charlie_inbox.pk, kind="note").exists()
    assert personal_reply_notes(shared).count() == 1


def test_only_the_contact_who_was_answered_is_affected(world):
    shared, personal = texted_both(world)
    someone_else = receive_text(world.shared, "Hello?", sender="+16175550171").conversation

    send_reply(world.alice, personal, "Yes, it's complete.")

    someone_else.refresh_from_db()
    assert someone_else.needs_reply
    assert not personal_reply_notes(someone_else).exists()
    assert not Conversation.objects.get(pk=shared.pk).needs_reply


def test_a_reply_from_a_shared_inbox_does_not_answer_the_personal_one(world):
    shared, personal = texted_both(world)

    send_reply(world.bob, shared, "Yes, it's complete.")

    personal.refresh_from_db()
    assert personal.needs_reply
    assert not personal.notes.exists()


def test_every_waiting_shared_inbox_of_the_team_is_answered(world):
    other = create_inbox(
        world.admissions, "Visits", OTHER_SHARED_NUMBER, members=(world.alice, world.bob)
    )
    shared, personal = texted_both(world)
    visits = receive_text(other, "Can I tour on Friday?").conversation

    send_reply(world.alice, personal, "Yes to both!")

    for conversation in (shared, visits):
        conversation.refresh_from_db()
        assert not conversation.needs_reply
        assert personal_reply_notes(conversation).get().body == "Yes to both!"


def test_starting_a_conversation_from_a_personal_inbox_answers_the_shared_one(world):
    shared = receive_text(world.shared, "Is my application complete?").conversation

    message = start_conversation(world.alice, world.alice_personal, "(617) 555-0142", "Yes!")

    assert message.conversation.inbox == world.alice_personal
    assert message.conversation.contact_id == shared.contact_id
    shared.refresh_from_db()
    assert not shared.needs_reply
    assert personal_reply_notes(shared).get().message == message


def test_a_new_text_after_a_personal_reply_asks_the_shared_inbox_again(world):
    shared, personal = texted_both(world)
    send_reply(world.alice, personal, "Yes, it's complete.")

    receive_text(world.shared, "Great, and housing?")

    assert Conversation.objects.get(pk=shared.pk).needs_reply


def test_the_personal_reply_note_is_escaped_in_the_shared_page(world, client):
    shared, personal = texted_both(world)
    send_reply(world.alice, personal, "<script>alert(1)</script> see <b>portal</b>")
    client.force_login(world.bob)

    html = client.get(page_url(shared)).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; see &lt;b&gt;portal&lt;/b&gt;" in html
