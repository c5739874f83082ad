"""Internal notes: the team sees them, the contact never does; @mentions notify only people
who may open the conversation. And the contact's owner on the conversation page."""

from textdesk.accounts.models import Membership
from textdesk.contacts.models import Contact
from textdesk.conversations import actions
from textdesk.conversations.actions import add_note, mentioned_users
from textdesk.conversations.models import Conversation, Message, Note
from textdesk.live.models import LiveEvent
from textdesk.messaging.worker import run_once
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.testing import create_conversation, create_user


def page_url(conversation: Conversation) -> str:
    return f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/"


def notes_url(conversation: Conversation) -> str:
    return page_url(conversation) + "notes/"


def notices() -> list[tuple[int, int, str]]:
    return [
        (event.user_id, event.conversation_id, event.data["text"])
        for event in LiveEvent.objects.filter(kind="notice").order_by("id")
    ]


def create_dave(world):
    """A member of Admissions who is not on the shared inbox's access list."""
    dave = create_user("dave", last_name="Dunn")
    Membership.objects.create(team=world.admissions, user=dave, role=Membership.Role.MEMBER)
    return dave


def test_a_note_is_shown_to_the_team_and_never_sent_to_the_contact(world, client):
    conversation = create_conversation(world.shared)
    preview = Conversation.objects.get(pk=conversation.pk).preview
    client.force_login(world.bob)

    response = client.post(notes_url(conversation), {"body": "Transcript is in the mail room."})

    assert response.status_code == 302
    note = Note.objects.get(conversation=conversation, kind=Note.Kind.NOTE)
    assert (note.author, note.body, note.message) == (
        world.bob,
        "Transcript is in the mail room.",
        None,
    )
    run_once()
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
    assert not CarrierMessage.objects.filter(direction=CarrierMessage.Direction.TO_HANDSET).exists()
    conversation.refresh_from_db()
    assert conversation.needs_reply, "a note is not an answer"
    assert conversation.preview == preview
    html = client.get(page_url(conversation)).content.decode()
    assert "Note by Bob Baker · only the team sees this" in html
    assert "Transcript is in the mail room." in html
    # The same worker round does deliver a real reply: the check above could have failed.
    actions.send_reply(world.bob, conversation, "It arrived.")
    run_once()
    sent = CarrierMessage.objects.get(direction=CarrierMessage.Direction.TO_HANDSET)
    assert sent.body == "It arrived."


def test_a_note_by_htmx_returns_the_thread_with_the_note(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)

    response = client.post(
        notes_url(conversation), {"body": "Called her back."}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert '<ol id="thread"' in html
    assert "Called her back." in html
    assert Note.objects.filter(conversation=conversation, body="Called her back.").exists()


def test_note_text_is_escaped_in_the_page(world, client):
    conversation = create_conversation(world.shared)
    add_note(world.bob, conversation, "<img src=x onerror=alert(1)> & <b>urgent</b>")
    client.force_login(world.alice)

    html = client.get(page_url(conversation)).content.decode()

    assert "<img src=x" not in html
    assert "<b>urgent</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;urgent&lt;/b&gt;" in html


def test_an_empty_note_is_refused_and_nothing_is_written(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)

    for body in ["", "   \n "]:
        response = client.post(notes_url(conversation), {"body": body})
        assert response.status_code == 422
        assert "Write a note first." in response.content.decode()

    assert not Note.objects.filter(conversation=conversation).exists()
    assert not LiveEvent.objects.filter(kind="note").exists()


def test_an_over_long_note_is_refused_and_the_draft_kept_escaped(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    draft = "</textarea><script>alert(1)</script>" + "x" * 5000

    response = client.post(notes_url(conversation), {"body": draft})

    assert response.status_code == 422
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;xxx" in html
    assert not Note.objects.filter(conversation=conversation).exists()


def test_a_mention_notifies_the_mentioned_member(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)

    client.post(notes_url(conversation), {"body": "@bob can you call her back?"})

    note = Note.objects.get(conversation=conversation, kind=Note.Kind.NOTE)
    assert list(note.mentions.all()) == [world.bob]
    assert notices() == [(world.bob.pk, conversation.pk, "Alice Archer mentioned you in a note.")]
    assert LiveEvent.objects.get(kind="notice").data["url"] == page_url(conversation)
    assert LiveEvent.objects.filter(
        kind="note", inbox_id=world.shared.pk, conversation_id=conversation.pk
    ).exists()


def test_mentions_ignore_people_who_cannot_see_the_inbox(world):
    conversation = create_conversation(world.shared)
    dave = create_dave(world)

    note = add_note(world.alice, conversation, "@charlie @dave @nobody and @bob: see above")

    assert list(note.mentions.all()) == [world.bob]
    assert notices() == [(world.bob.pk, conversation.pk, "Alice Archer mentioned you in a note.")]
    assert dave.pk not in {user_id for user_id, _, _ in notices()}


def test_a_mention_in_a_personal_inbox_notifies_nobody_else(world):
    conversation = create_conversation(world.alice_personal)

    note = add_note(world.alice, conversation, "@bob should know about this one")

    assert list(note.mentions.all()) == []
    assert notices() == []


def test_mentioning_oneself_records_the_mention_but_sends_no_notice(world):
    conversation = create_conversation(world.shared)

    note = add_note(world.bob, conversation, "Reminder for @bob: follow up Friday")

    assert list(note.mentions.all()) == [world.bob]
    assert notices() == []


def test_mentions_are_case_insensitive_and_email_addresses_are_not_mentions(world):
    conversation = create_conversation(world.shared)

    assert mentioned_users(conversation, "Thanks @BOB.") == [world.bob]
    assert mentioned_users(conversation, "(cc @alice, @bob)") == [world.alice, world.bob]
    assert mentioned_users(conversation, "Her advisor is alice@example.edu") == []
    assert mentioned_users(conversation, "no mentions here") == []


def test_a_deactivated_member_is_not_notified(world):
    conversation = create_conversation(world.shared)
    world.bob.is_active = False
    world.bob.save()

    note = add_note(world.alice, conversation, "@bob please look")

    assert list(note.mentions.all()) == []
    assert notices() == []


def test_the_contact_owner_is_shown_on_the_conversation_page(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)
    before = client.get(page_url(conversation)).content.decode()
    assert "contact owner" not in before

    Contact.objects.filter(pk=conversation.contact_id).update(owner=world.bob)

    html = client.get(page_url(conversation)).content.decode()
    assert "contact owner: <strong>Bob Baker</strong>" in html


def test_assignment_and_notes_appear_in_the_timeline_for_the_team(world, client):
    conversation = create_conversation(world.shared)
    actions.assign(world.alice, conversation, world.bob)
    add_note(world.alice, conversation, "She asked about deadlines.")
    client.force_login(world.bob)

    html = client.get(page_url(conversation)).content.decode()

    assigned = html.index("Alice Archer assigned this to Bob Baker.")
    noted = html.index("She asked about deadlines.")
    assert html.index("Hi, is my application complete?") < assigned < noted
