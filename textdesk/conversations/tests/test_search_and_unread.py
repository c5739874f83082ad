"""Search across the inboxes a user may see; unread badges and rows; following an inbox."""

import re

from textdesk.conversations import actions
from textdesk.conversations.actions import send_reply
from textdesk.conversations.models import Conversation
from textdesk.conversations.queries import search_conversations, unread_counts
from textdesk.inboxes.models import InboxSubscription
from textdesk.testing import (
    STUDENT_NUMBER,
    create_contact,
    create_conversation,
    receive_text,
)


def page_url(conversation: Conversation) -> str:
    return f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/"


def search_results(client, q: str) -> set[int]:
    response = client.get("/search/", {"q": q})
    assert response.status_code == 200
    html = response.content.decode()
    return {int(pk) for pk in re.findall(r'href="/inboxes/\d+/conversations/(\d+)/"', html)}


def row_classes(client, inbox, show: str = "all") -> dict[int, set[str]]:
    """Each listed conversation's row classes, as {conversation id: classes}."""
    html = client.get(f"/inboxes/{inbox.pk}/?show={show}").content.decode()
    rows = re.findall(r'<li class="([^"]*)" data-conversation="(\d+)">', html)
    return {int(pk): set(classes.split()) for classes, pk in rows}


def unread_label(html: str, inbox) -> str | None:
    """The switcher's "N new" for ``inbox`` (None when it shows none)."""
    switcher = re.search(r'<div id="switcher".*?</ul>', html, re.S)
    assert switcher is not None
    entry = re.search(rf'<a href="/inboxes/{inbox.pk}/".*?</a>', switcher.group(0), re.S)
    assert entry is not None, f"{inbox} is not in the switcher"
    label = re.search(r'<span class="unread-count"[^>]*>([^<]+)</span>', entry.group(0))
    return label.group(1) if label else None


def ids(conversations) -> set[int]:
    return {c.pk for c in conversations}


# --- Search ----------------------------------------------------------------------------------


def test_search_finds_a_contact_by_name(world, client):
    create_contact(world.admissions, first_name="Maria", last_name="Lopez")
    maria = create_conversation(world.shared)
    create_conversation(world.shared, sender="+16175550171")
    client.force_login(world.bob)

    for q in ["maria", "LOPEZ", "Maria Lopez", "lopez mar"]:
        assert search_results(client, q) == {maria.pk}, q
    assert search_results(client, "Maria Smith") == set()
    html = client.get("/search/", {"q": "maria"}).content.decode()
    assert 'Maria Lopez <span class="muted">· Admissions</span>' in html


def test_search_finds_a_contact_by_number_in_any_format(world, client):
    student = create_conversation(world.shared)
    create_conversation(world.shared, sender="+16175550171")
    client.force_login(world.bob)

    for q in [STUDENT_NUMBER, "(617) 555-0142", "617.555.0142", "6175550142", "555-0142", "0142"]:
        assert search_results(client, q) == {student.pk}, q


def test_words_with_digits_are_not_taken_for_a_phone_number(world):
    receive_text(world.shared, "Hello", sender="+16175550142")
    receive_text(world.shared, "Which building is room 555 in?", sender="+16175550143")
    found = search_conversations(world.bob, "room 555")
    assert [c.contact.phone for c in found] == ["+16175550143"]


def test_search_finds_words_from_a_text_and_shows_the_matching_text(world, client):
    conversation = receive_text(world.shared, "Did you get my TRANSCRIPT from Lincoln High?")
    receive_text(world.shared, "ok thanks")
    create_conversation(world.shared, sender="+16175550171")
    client.force_login(world.bob)

    assert search_results(client, "transcript from lincoln") == {conversation.conversation_id}
    html = client.get("/search/", {"q": "transcript"}).content.decode()
    assert "Did you get my TRANSCRIPT from Lincoln High?" in html


def test_search_finds_our_own_replies_too(world):
    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "Your deposit is due May 1.")

    assert ids(search_conversations(world.alice, "deposit")) == {conversation.pk}


def test_search_never_shows_inboxes_the_user_may_not_see(world, client):
    create_contact(world.admissions, first_name="Maria", last_name="Lopez")
    shared = receive_text(world.shared, "transcript question").conversation
    personal = receive_text(world.alice_personal, "transcript for Ms. Archer").conversation
    create_contact(world.financial_aid, first_name="Maria", last_name="Lopez")
    aid = receive_text(world.charlie_inbox, "transcript for aid").conversation

    for q in ["transcript", "Maria", "6175550142"]:
        assert ids(search_conversations(world.alice, q)) == {shared.pk, personal.pk}, q
        assert ids(search_conversations(world.bob, q)) == {shared.pk}, q
        assert ids(search_conversations(world.charlie, q)) == {aid.pk}, q
    client.force_login(world.charlie)
    assert search_results(client, "transcript") == {aid.pk}
    html = client.get("/search/", {"q": "transcript"}).content.decode()
    assert "transcript question" not in html
    assert "Ms. Archer" not in html


def test_search_needs_two_characters(world, client):
    create_conversation(world.shared)
    client.force_login(world.bob)

    assert search_results(client, " H ") == set()
    html = client.get("/search/", {"q": "H"}).content.decode()
    assert "Type at least two characters." in html
    assert search_results(client, "Hi") != set()


def test_search_text_is_escaped_in_the_page(world, client):
    create_conversation(world.shared)
    client.force_login(world.bob)

    html = client.get("/search/", {"q": "<b>nothing</b>"}).content.decode()

    assert "<b>nothing</b>" not in html
    assert "&lt;b&gt;nothing&lt;/b&gt;" in html


def test_a_search_containing_a_nul_byte_finds_nothing_instead_of_failing(world, client):
    create_conversation(world.shared)
    client.force_login(world.bob)
    client.raise_request_exception = False

    response = client.get("/search/", {"q": "ab\x00cd"})

    assert response.status_code == 200
    assert 'href="/inboxes/' not in response.content.decode().split('class="search-form"')[1]


# --- Unread ----------------------------------------------------------------------------------


def test_a_new_text_is_unread_for_everyone_who_works_the_inbox(world, client):
    first = create_conversation(world.shared)
    second = create_conversation(world.shared, sender="+16175550171")
    create_conversation(world.alice_personal, sender="+16175550172")

    assert unread_counts(world.bob, [world.shared.pk]) == {world.shared.pk: 2}
    assert unread_counts(world.alice, [world.shared.pk, world.alice_personal.pk]) == {
        world.shared.pk: 2,
        world.alice_personal.pk: 1,
    }
    client.force_login(world.bob)
    rows = row_classes(client, world.shared)
    assert "unread" in rows[first.pk]
    assert "unread" in rows[second.pk]
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unread_label(html, world.shared) == "2 new"


def test_opening_a_conversation_marks_it_read_for_that_user_only(world, client):
    opened = create_conversation(world.shared)
    other = create_conversation(world.shared, sender="+16175550171")
    client.force_login(world.bob)

    assert client.get(page_url(opened)).status_code == 200

    rows = row_classes(client, world.shared)
    assert "unread" not in rows[opened.pk]
    assert "unread" in rows[other.pk]
    assert "unreplied" in rows[opened.pk], "reading is not answering"
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unread_label(html, world.shared) == "1 new"
    assert unread_counts(world.bob, [world.shared.pk]) == {world.shared.pk: 1}
    assert unread_counts(world.alice, [world.shared.pk]) == {world.shared.pk: 2}


def test_a_new_text_makes_a_read_conversation_unread_again(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    client.get(page_url(conversation))
    assert unread_counts(world.bob, [world.shared.pk]) == {}
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unread_label(html, world.shared) is None

    receive_text(world.shared, "Hello again")

    assert "unread" in row_classes(client, world.shared)[conversation.pk]
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unread_label(html, world.shared) == "1 new"


def test_replies_notes_and_assignment_do_not_make_a_conversation_unread(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    client.get(page_url(conversation))  # Bob reads it, and is now the one answering

    send_reply(world.bob, conversation, "Got it.")
    actions.add_note(world.alice, conversation, "@bob FYI")
    actions.assign(world.alice, conversation, world.bob)

    assert unread_counts(world.bob, [world.shared.pk]) == {}
    assert "unread" not in row_classes(client, world.shared)[conversation.pk]


def test_a_conversation_we_started_is_not_unread(world):
    actions.start_conversation(world.bob, world.shared, "(617) 555-0199", "Your visit is set.")

    assert unread_counts(world.bob, [world.shared.pk]) == {}
    assert unread_counts(world.alice, [world.shared.pk]) == {}


def test_closed_conversations_do_not_count_as_new(world, client):
    conversation = create_conversation(world.shared)
    actions.close(world.alice, conversation)

    assert unread_counts(world.bob, [world.shared.pk]) == {}
    client.force_login(world.bob)
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unread_label(html, world.shared) is None


def test_refreshing_the_thread_also_marks_it_read(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)

    assert client.get(page_url(conversation) + "thread/").status_code == 200

    assert unread_counts(world.bob, [world.shared.pk]) == {}


# --- Following -------------------------------------------------------------------------------


def test_following_an_inbox_toggles(world, client):
    client.force_login(world.bob)
    url = f"/inboxes/{world.shared.pk}/follow/"
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert 'aria-pressed="false"' in html

    response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == f"/inboxes/{world.shared.pk}/"
    assert InboxSubscription.objects.filter(inbox=world.shared, user=world.bob).exists()
    assert not InboxSubscription.objects.filter(user=world.alice).exists()
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert 'aria-pressed="true"' in html
    assert f'data-following="{world.shared.pk}"' in html

    client.post(url)

    assert not InboxSubscription.objects.filter(user=world.bob).exists()
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert 'aria-pressed="false"' in html
    assert 'data-following=""' in html


def test_following_needs_a_post(world, client):
    client.force_login(world.bob)

    assert client.get(f"/inboxes/{world.shared.pk}/follow/").status_code == 405

    assert not InboxSubscription.objects.exists()
