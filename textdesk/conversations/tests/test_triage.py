"""Unreplied tracking, the list filters, closing and reopening, "no reply needed" and
assignment, as the people working an inbox see them."""

import re

import pytest

from textdesk.accounts.models import Membership
from textdesk.conversations import actions
from textdesk.conversations.actions import SendRefused, send_reply
from textdesk.conversations.models import Conversation, Note
from textdesk.live.models import LiveEvent
from textdesk.testing import create_conversation, create_user, receive_text


def action_url(conversation: Conversation, name: str) -> str:
    return f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/{name}/"


def page_url(conversation: Conversation) -> str:
    return f"/inboxes/{conversation.inbox_id}/conversations/{conversation.pk}/"


def listed(client, inbox, show: str) -> set[int]:
    """The conversation ids a list page shows, for whoever the client is signed in as."""
    response = client.get(f"/inboxes/{inbox.pk}/?show={show}")
    assert response.status_code == 200
    return {int(pk) for pk in re.findall(r'data-conversation="(\d+)"', response.content.decode())}


def switcher_entry(html: str, inbox) -> str | None:
    """The navigation's entry for ``inbox``, or None when it is not listed."""
    switcher = re.search(r'<div id="switcher".*?</ul>', html, re.S)
    assert switcher is not None
    entry = re.search(rf'<a href="/inboxes/{inbox.pk}/".*?</a>', switcher.group(0), re.S)
    return entry.group(0) if entry else None


def unreplied_badge(html: str, inbox) -> int:
    entry = switcher_entry(html, inbox)
    assert entry is not None, f"{inbox} is not in the switcher"
    badge = re.search(r'<span class="badge"[^>]*>(\d+)</span>', entry)
    return int(badge.group(1)) if badge else 0


def events(conversation: Conversation) -> list[str]:
    return list(
        conversation.notes.filter(kind=Note.Kind.EVENT)
        .order_by("id")
        .values_list("body", flat=True)
    )


# --- Unreplied -------------------------------------------------------------------------------


def test_a_conversation_needs_a_reply_exactly_while_its_newest_message_is_inbound(world):
    conversation = create_conversation(world.shared)
    assert Conversation.objects.get(pk=conversation.pk).needs_reply

    send_reply(world.bob, conversation, "We have it, thanks.")
    assert not Conversation.objects.get(pk=conversation.pk).needs_reply

    receive_text(world.shared, "And my transcript?")
    assert Conversation.objects.get(pk=conversation.pk).needs_reply


def test_the_switcher_counts_what_awaits_a_reply_in_each_inbox_the_user_may_see(world, client):
    create_conversation(world.shared, sender="+16175550171")
    create_conversation(world.shared, sender="+16175550172")
    answered = create_conversation(world.shared, sender="+16175550173")
    send_reply(world.bob, answered, "Done")
    create_conversation(world.alice_personal, sender="+16175550174")
    create_conversation(world.charlie_inbox, sender="+16175550175")

    client.force_login(world.alice)
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unreplied_badge(html, world.shared) == 2
    assert unreplied_badge(html, world.alice_personal) == 1
    assert switcher_entry(html, world.charlie_inbox) is None

    client.force_login(world.bob)
    html = client.get(f"/inboxes/{world.shared.pk}/").content.decode()
    assert unreplied_badge(html, world.shared) == 2
    assert switcher_entry(html, world.alice_personal) is None


# --- Close and reopen ------------------------------------------------------------------------


def test_closing_takes_a_conversation_out_of_the_open_lists(world, client):
    conversation = create_conversation(world.shared)
    other = create_conversation(world.shared, sender="+16175550171")
    client.force_login(world.bob)

    response = client.post(action_url(conversation, "close"))

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.closed_at is not None
    assert not conversation.needs_reply
    assert events(conversation) == ["Bob Baker closed the conversation."]
    assert listed(client, world.shared, "all") == {other.pk}
    assert listed(client, world.shared, "unreplied") == {other.pk}
    assert listed(client, world.shared, "closed") == {conversation.pk}
    html = client.get(page_url(conversation)).content.decode()
    assert '<span class="tag">Closed</span>' in html
    assert action_url(conversation, "reopen") in html
    assert action_url(conversation, "close") not in html
    assert unreplied_badge(html, world.shared) == 1


def test_closing_an_already_closed_conversation_changes_nothing(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    client.post(action_url(conversation, "close"))
    closed_at = Conversation.objects.get(pk=conversation.pk).closed_at

    client.force_login(world.alice)
    assert client.post(action_url(conversation, "close")).status_code == 302

    assert Conversation.objects.get(pk=conversation.pk).closed_at == closed_at
    assert events(conversation) == ["Bob Baker closed the conversation."]


def test_reopening_an_unanswered_conversation_puts_it_back_in_unreplied(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)
    client.post(action_url(conversation, "close"))

    response = client.post(action_url(conversation, "reopen"))

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.closed_at is None
    assert conversation.needs_reply
    assert events(conversation) == [
        "Bob Baker closed the conversation.",
        "Bob Baker reopened the conversation.",
    ]
    assert listed(client, world.shared, "unreplied") == {conversation.pk}
    assert listed(client, world.shared, "closed") == set()


def test_reopening_an_answered_conversation_does_not_ask_for_a_reply(world, client):
    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "All set!")
    client.force_login(world.bob)
    client.post(action_url(conversation, "close"))

    client.post(action_url(conversation, "reopen"))

    conversation.refresh_from_db()
    assert conversation.closed_at is None
    assert not conversation.needs_reply
    assert listed(client, world.shared, "all") == {conversation.pk}
    assert listed(client, world.shared, "unreplied") == set()


def test_a_new_text_reopens_a_closed_conversation_and_asks_for_a_reply(world, client):
    conversation = create_conversation(world.shared)
    actions.close(world.bob, conversation)

    receive_text(world.shared, "Sorry, one more thing")

    conversation.refresh_from_db()
    assert conversation.closed_at is None
    assert conversation.needs_reply
    assert conversation.preview == "Sorry, one more thing"
    client.force_login(world.bob)
    assert listed(client, world.shared, "unreplied") == {conversation.pk}
    assert listed(client, world.shared, "closed") == set()


def test_a_reply_in_a_closed_conversation_does_not_reopen_it(world):
    conversation = create_conversation(world.shared)
    actions.close(world.bob, conversation)

    send_reply(world.bob, conversation, "PS: office hours are 9 to 5.")

    conversation.refresh_from_db()
    assert conversation.closed_at is not None
    assert not conversation.needs_reply


# --- No reply needed -------------------------------------------------------------------------


def test_no_reply_needed_leaves_the_unreplied_queue_but_keeps_the_conversation_open(world, client):
    conversation = create_conversation(world.shared)
    receive_text(world.shared, "Thanks!")
    client.force_login(world.bob)
    page = client.get(page_url(conversation)).content.decode()
    assert action_url(conversation, "no-reply-needed") in page
    assert unreplied_badge(page, world.shared) == 1

    response = client.post(action_url(conversation, "no-reply-needed"))

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert not conversation.needs_reply
    assert conversation.closed_at is None
    assert events(conversation) == ["Bob Baker marked this as needing no reply."]
    assert listed(client, world.shared, "unreplied") == set()
    assert listed(client, world.shared, "all") == {conversation.pk}
    page = client.get(page_url(conversation)).content.decode()
    assert action_url(conversation, "no-reply-needed") not in page
    assert unreplied_badge(page, world.shared) == 0


def test_no_reply_needed_on_an_answered_conversation_records_nothing(world):
    conversation = create_conversation(world.shared)
    send_reply(world.bob, conversation, "Done")

    actions.mark_no_reply_needed(world.alice, conversation)

    assert events(conversation) == []


def test_a_new_text_after_no_reply_needed_asks_for_a_reply_again(world):
    conversation = create_conversation(world.shared)
    actions.mark_no_reply_needed(world.bob, conversation)

    receive_text(world.shared, "Actually, one question")

    assert Conversation.objects.get(pk=conversation.pk).needs_reply


def test_triage_buttons_answer_htmx_with_the_refreshed_header(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.bob)

    response = client.post(action_url(conversation, "close"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<header id="conversation-header"')
    assert '<span class="tag">Closed</span>' in html
    assert action_url(conversation, "reopen") in html
    assert Conversation.objects.get(pk=conversation.pk).closed_at is not None


def test_triage_changes_are_announced_to_the_inbox(world):
    conversation = create_conversation(world.shared)
    before = LiveEvent.objects.count()

    actions.mark_no_reply_needed(world.bob, conversation)
    actions.close(world.bob, conversation)
    actions.reopen(world.bob, conversation)

    announced = LiveEvent.objects.order_by("id")[before:]
    assert [(e.kind, e.inbox_id, e.conversation_id) for e in announced] == [
        ("conversation", world.shared.pk, conversation.pk)
    ] * 3


# --- The filters -----------------------------------------------------------------------------


def test_each_filter_lists_its_own_conversations(world, client):
    waiting = create_conversation(world.shared, sender="+16175550171")
    answered = create_conversation(world.shared, sender="+16175550172")
    send_reply(world.alice, answered, "Done")
    closed = create_conversation(world.shared, sender="+16175550173")
    actions.close(world.alice, closed)
    bobs = create_conversation(world.shared, sender="+16175550174")
    actions.assign(world.alice, bobs, world.bob)
    bobs_closed = create_conversation(world.shared, sender="+16175550175")
    actions.assign(world.alice, bobs_closed, world.bob)
    actions.close(world.alice, bobs_closed)
    client.force_login(world.bob)

    assert listed(client, world.shared, "unreplied") == {waiting.pk, bobs.pk}
    assert listed(client, world.shared, "mine") == {bobs.pk}
    assert listed(client, world.shared, "all") == {waiting.pk, answered.pk, bobs.pk}
    assert listed(client, world.shared, "closed") == {closed.pk, bobs_closed.pk}
    assert listed(client, world.shared, "nonsense") == {waiting.pk, answered.pk, bobs.pk}


# --- Assignment ------------------------------------------------------------------------------


def test_assigning_a_member_puts_the_conversation_in_their_mine_list(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)

    response = client.post(action_url(conversation, "assign"), {"assignee": world.bob.pk})

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assigned_to == world.bob
    assert events(conversation) == ["Alice Archer assigned this to Bob Baker."]
    notice = LiveEvent.objects.get(kind="notice")
    assert (notice.user_id, notice.conversation_id) == (world.bob.pk, conversation.pk)
    assert notice.data["text"] == "Alice Archer assigned you a conversation."
    assert notice.data["url"] == page_url(conversation)
    assert listed(client, world.shared, "mine") == set()

    client.force_login(world.bob)
    assert listed(client, world.shared, "mine") == {conversation.pk}
    html = client.get(f"/inboxes/{world.shared.pk}/?show=mine").content.decode()
    assert '<span class="tag tag-assigned">Assigned to you</span>' in html
    page = client.get(page_url(conversation)).content.decode()
    assert f'<option value="{world.bob.pk}" selected>Bob Baker</option>' in page


def test_unassigning_takes_the_conversation_out_of_mine(world, client):
    conversation = create_conversation(world.shared)
    actions.assign(world.alice, conversation, world.bob)
    client.force_login(world.bob)

    response = client.post(action_url(conversation, "assign"), {"assignee": ""})

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assigned_to is None
    assert events(conversation)[-1] == "Bob Baker unassigned the conversation."
    assert listed(client, world.shared, "mine") == set()
    assert listed(client, world.shared, "all") == {conversation.pk}


def test_assigning_oneself_sends_no_notice(world):
    conversation = create_conversation(world.shared)

    actions.assign(world.bob, conversation, world.bob)

    assert Conversation.objects.get(pk=conversation.pk).assigned_to == world.bob
    assert not LiveEvent.objects.filter(kind="notice").exists()


def test_assigning_someone_who_cannot_work_in_the_inbox_is_refused(world, client):
    conversation = create_conversation(world.shared)
    dave = create_user("dave")  # in Admissions, but not on the shared inbox's access list
    Membership.objects.create(team=world.admissions, user=dave, role=Membership.Role.MEMBER)
    client.force_login(world.alice)

    for outsider in [world.charlie, dave]:
        response = client.post(action_url(conversation, "assign"), {"assignee": outsider.pk})
        assert response.status_code == 422
        with pytest.raises(SendRefused, match="cannot work in this inbox"):
            actions.assign(world.alice, conversation, outsider)
    assert client.post(action_url(conversation, "assign"), {"assignee": "x"}).status_code == 422

    conversation.refresh_from_db()
    assert conversation.assigned_to is None
    assert events(conversation) == []
    assert not LiveEvent.objects.filter(kind="notice").exists()
    page = client.get(page_url(conversation)).content.decode()
    assert f'<option value="{world.charlie.pk}"' not in page
    assert f'<option value="{dave.pk}"' not in page
    assert f'<option value="{world.bob.pk}"' in page


def test_an_assignee_that_is_not_a_plain_number_is_refused_without_a_server_error(world, client):
    conversation = create_conversation(world.shared)
    client.force_login(world.alice)
    client.raise_request_exception = False

    response = client.post(action_url(conversation, "assign"), {"assignee": "²"})

    assert response.status_code == 422
    assert Conversation.objects.get(pk=conversation.pk).assigned_to is None


def test_a_personal_conversation_can_be_assigned_only_to_its_owner(world):
    conversation = create_conversation(world.alice_personal)

    with pytest.raises(SendRefused):
        actions.assign(world.alice, conversation, world.bob)
    actions.assign(world.alice, conversation, world.alice)

    assert Conversation.objects.get(pk=conversation.pk).assigned_to == world.alice
