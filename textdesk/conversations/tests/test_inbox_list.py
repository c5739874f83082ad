import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from textdesk.conversations.actions import send_reply
from textdesk.conversations.locks import open_conversation
from textdesk.conversations.views import PAGE_SIZE
from textdesk.testing import create_conversation, receive_text


def listed_names(html: str) -> list[str]:
    return re.findall(r'<span class="who">([^<]+)</span>', html)


def test_latest_activity_comes_first(world, client):
    first = create_conversation(world.shared, sender="+16175550171")
    create_conversation(world.shared, sender="+16175550172")
    receive_text(world.shared, "me again", sender="+16175550171")
    client.force_login(world.bob)
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert listed_names(html) == ["(617) 555-0171", "(617) 555-0172"]
    assert first.contact.display_name == "(617) 555-0171"


def test_the_unreplied_filter_keeps_conversations_whose_last_message_is_inbound(world, client):
    answered = create_conversation(world.shared, sender="+16175550171")
    create_conversation(world.shared, sender="+16175550172")
    send_reply(world.bob, answered, "Done!")
    client.force_login(world.bob)

    unreplied = client.get(f"/inboxes/{world.shared.pk}/?show=unreplied").content.decode()
    everything = client.get(f"/inboxes/{world.shared.pk}/?show=all").content.decode()

    assert listed_names(unreplied) == ["(617) 555-0172"]
    assert listed_names(everything) == ["(617) 555-0171", "(617) 555-0172"]


def test_a_new_inbound_text_puts_an_answered_conversation_back_in_unreplied(world, client):
    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "Done!")
    receive_text(world.shared, "One more question")
    conversation.refresh_from_db()
    assert conversation.needs_reply


def test_the_switcher_counts_unreplied_conversations(world, client):
    create_conversation(world.shared, sender="+16175550171")
    create_conversation(world.shared, sender="+16175550172")
    client.force_login(world.bob)
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert 'title="2 awaiting a reply">2</span>' in html


def test_the_list_costs_the_same_few_queries_however_many_conversations(world, client):
    client.force_login(world.bob)
    url = f"/inboxes/{world.shared.pk}/"

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    first = create_conversation(world.shared, sender="+16175550170")
    open_conversation(world.alice, first, "tab")  # a held lock shows in the list too
    queries_for_page()  # the first page of a session also remembers the time zone
    few = queries_for_page()
    for n in range(2 * PAGE_SIZE):
        create_conversation(world.shared, sender=f"+1617555{1000 + n}")
    receive_text(world.shared, "still here", sender="+16175550170")  # the locked one on top
    many = queries_for_page()
    assert many == few
    # session, user, newest live event, inbox, following?, may administer?, count, page,
    # lock holders, switcher (2), followed ids
    assert many <= 12


def test_the_list_pages_through_older_conversations(world, client):
    for n in range(PAGE_SIZE + 5):
        create_conversation(world.shared, sender=f"+1617555{1000 + n}")
    client.force_login(world.bob)
    first = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    second = client.get(f"/inboxes/{world.shared.pk}/?page=2").content.decode()
    assert len(listed_names(first)) == PAGE_SIZE
    assert len(listed_names(second)) == 5
    assert "Page 2 of 2" in second


def test_htmx_polling_gets_just_the_list(world, client):
    create_conversation(world.shared)
    client.force_login(world.bob)
    response = client.get(
        f"/inboxes/{world.shared.pk}/?show=all",
        headers={"HX-Request": "true", "HX-Target": "conversation-list"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="conversation-list"')
    assert "<html" not in html


def test_the_thread_shows_each_messages_status(world, client):
    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "Done!")
    client.force_login(world.bob)
    html = client.get(
        f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/thread/"
    ).content.decode()
    assert 'class="status"' in html
    assert "Queued" in html
    assert "Bob Baker" in html
