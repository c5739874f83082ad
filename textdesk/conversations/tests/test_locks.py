"""Conversation locks, with a clock the tests move instead of sleeping."""

import pytest
from django.core.exceptions import PermissionDenied

from textdesk.compliance.models import AuditEvent
from textdesk.conversations import locks
from textdesk.conversations.actions import SendConflict, send_reply
from textdesk.conversations.models import ConversationLock, Message, Note
from textdesk.live.models import LiveEvent
from textdesk.testing import create_conversation, receive_text


@pytest.fixture
def conversation(world):
    return create_conversation(world.shared)


def away(user, conversation, clock, *, seconds: int) -> None:
    """Time passes with the user's tab open and its heartbeats arriving, but no activity."""
    step = locks.HEARTBEAT_SECONDS
    for _ in range(seconds // step):
        clock.advance(step)
        locks.heartbeat(user, conversation.pk, "bob-tab")
    clock.advance(seconds % step)
    locks.heartbeat(user, conversation.pk, "bob-tab")


def holder(conversation):
    lock = locks.view_lock(conversation, conversation.inbox.team.members.first())
    return lock.holder


def test_opening_a_free_conversation_takes_its_lock(world, conversation, clock):
    view = locks.open_conversation(world.bob, conversation, "bob-tab")
    assert view.viewer_holds_it
    assert holder(conversation) == world.bob
    assert AuditEvent.objects.filter(action="lock.acquired", actor=world.bob).exists()


def test_others_see_who_holds_it_and_cannot_take_it_by_opening(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    view = locks.open_conversation(world.alice, conversation, "alice-tab")
    assert not view.viewer_holds_it
    assert view.held_by_someone_else
    assert view.holder == world.bob


def test_a_reply_from_anyone_but_the_holder_is_refused_and_nothing_is_sent(
    world, conversation, clock
):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    with pytest.raises(SendConflict, match="Bob Baker is answering"):
        send_reply(world.alice, conversation, "I'll take this one")
    assert not Message.objects.filter(direction="out").exists()
    send_reply(world.bob, conversation, "On it")
    assert Message.objects.filter(direction="out").count() == 1


def test_the_http_reply_of_a_non_holder_is_a_409_whatever_the_page_showed(
    world, conversation, client, clock
):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    client.force_login(world.alice)
    url = f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/reply/"
    response = client.post(url, {"body": "Sneaky"}, headers={"HX-Request": "true"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Bob Baker is answering this conversation" in html
    assert "Sneaky" in html  # the draft is kept in the box
    assert not Message.objects.filter(direction="out").exists()


def test_the_lock_lets_go_after_the_idle_timeout(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    # The tab stays open and connected (heartbeats), but Bob is away from the keyboard.
    away(world.bob, conversation, clock, seconds=119)
    assert holder(conversation) == world.bob
    away(world.bob, conversation, clock, seconds=2)  # 121 s idle; the inbox's timeout is 120 s
    assert holder(conversation) is None
    assert locks.open_conversation(world.alice, conversation, "alice-tab").viewer_holds_it


def test_activity_renews_the_lease(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    for _ in range(5):
        away(world.bob, conversation, clock, seconds=100)
        locks.record_activity(world.bob, conversation.pk, "bob-tab")
    assert holder(conversation) == world.bob  # 500 s after opening, never idle for 120


def test_the_idle_timeout_is_a_setting_of_the_inbox(world, conversation, clock):
    world.shared.lock_idle_seconds = 30
    world.shared.save()
    conversation.refresh_from_db()
    locks.open_conversation(world.bob, conversation, "bob-tab")
    clock.advance(31)
    assert holder(conversation) is None


def test_a_dead_connection_lets_go_after_the_grace_period(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    clock.advance(locks.PRESENCE_GRACE_SECONDS - 1)
    assert holder(conversation) == world.bob
    clock.advance(2)  # no heartbeat for longer than the grace: the laptop lid is closed
    assert holder(conversation) is None


def test_a_connection_back_within_the_grace_period_keeps_the_lock(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    clock.advance(locks.PRESENCE_GRACE_SECONDS - 5)
    locks.heartbeat(world.bob, conversation.pk, "bob-tab")  # reconnected
    clock.advance(locks.PRESENCE_GRACE_SECONDS - 5)
    assert holder(conversation) == world.bob


def test_leaving_the_only_tab_lets_go_at_once(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    locks.leave(world.bob, conversation.pk, "bob-tab")
    assert holder(conversation) is None
    assert not ConversationLock.objects.exists()


def test_several_tabs_of_one_user_are_one_holder(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "tab-1")
    locks.open_conversation(world.bob, conversation, "tab-2")
    locks.leave(world.bob, conversation.pk, "tab-1")
    assert holder(conversation) == world.bob  # tab 2 still shows it
    locks.record_activity(world.bob, conversation.pk, "tab-2")
    locks.leave(world.bob, conversation.pk, "tab-2")
    assert holder(conversation) is None


def test_someone_elses_leaving_changes_nothing(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    locks.open_conversation(world.alice, conversation, "alice-tab")
    locks.leave(world.alice, conversation.pk, "alice-tab")
    assert holder(conversation) == world.bob


def test_an_inbox_admin_can_take_over_and_the_holder_is_told(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    view = locks.take_over(world.alice, conversation)
    assert view.viewer_holds_it
    assert holder(conversation) == world.alice
    audit = AuditEvent.objects.get(action="lock.taken_over")
    assert (audit.actor, audit.data["previous_holder"]) == (world.alice, world.bob.pk)
    assert Note.objects.get(kind="event").body == "Alice Archer took over from Bob Baker."
    notice = LiveEvent.objects.get(kind="notice", user_id=world.bob.pk)
    assert "took over" in notice.data["text"]
    with pytest.raises(SendConflict):
        send_reply(world.bob, conversation, "Bob's draft")


def test_only_an_inbox_admin_can_take_over(world, conversation, clock):
    locks.open_conversation(world.alice, conversation, "alice-tab")
    with pytest.raises(PermissionDenied):
        locks.take_over(world.bob, conversation)
    assert holder(conversation) == world.alice


def test_lapsed_locks_are_released_and_pages_told(world, conversation, clock):
    locks.open_conversation(world.bob, conversation, "bob-tab")
    assert locks.release_lapsed_locks() == 0
    clock.advance(200)
    assert locks.release_lapsed_locks() == 1
    assert not ConversationLock.objects.exists()
    assert LiveEvent.objects.filter(kind="lock", conversation_id=conversation.pk).count() == 2
    notice = LiveEvent.objects.get(kind="notice", user_id=world.bob.pk)
    assert "idle" in notice.data["text"]
    released = AuditEvent.objects.get(action="lock.released")
    assert released.data == {"reason": "idle"}


def test_sending_takes_a_free_lock(world, conversation, clock):
    send_reply(world.bob, conversation, "Hello")
    assert holder(conversation) == world.bob


def test_a_reply_begun_before_a_new_text_is_refused_with_that_text(world, conversation, clock):
    seen = conversation.messages.get().pk
    locks.open_conversation(world.bob, conversation, "bob-tab")
    newer = receive_text(world.shared, "Actually, never mind!")
    with pytest.raises(SendConflict) as refused:
        send_reply(world.bob, conversation, "Here's the answer", seen_message_id=seen)
    assert refused.value.newer == newer
    assert not Message.objects.filter(direction="out").exists()
    send_reply(world.bob, conversation, "OK, no problem!", seen_message_id=newer.pk)
    assert Message.objects.filter(direction="out").count() == 1


def test_a_reply_begun_before_someone_elses_reply_is_refused(world, conversation, clock):
    seen = conversation.messages.get().pk
    alices = send_reply(world.alice, conversation, "Yes, it's complete.", seen_message_id=seen)
    locks.leave(world.alice, conversation.pk, "any")  # no tab: the lock stays until it lapses
    clock.advance(locks.PRESENCE_GRACE_SECONDS + 1)
    with pytest.raises(SendConflict, match="Alice Archer replied while you were writing") as e:
        send_reply(world.bob, conversation, "Yes, we have it", seen_message_id=seen)
    assert e.value.newer == alices
    assert Message.objects.filter(direction="out").count() == 1


def test_ones_own_earlier_reply_is_no_reason_to_stop(world, conversation, clock):
    seen = conversation.messages.get().pk
    send_reply(world.bob, conversation, "First part", seen_message_id=seen)
    send_reply(world.bob, conversation, "Second part", seen_message_id=seen)
    assert Message.objects.filter(direction="out").count() == 2


def test_the_conflict_page_shows_the_new_text_and_lets_the_reply_through_next_time(
    world, conversation, client, clock
):
    client.force_login(world.bob)
    page = client.get(f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/")
    seen = page.context["seen"]
    receive_text(world.shared, "Also, what about housing?")
    url = f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/reply/"
    response = client.post(url, {"body": "Your file is complete.", "seen": seen})
    assert response.status_code == 409
    html = response.content.decode()
    assert "A new text arrived while you were writing" in html
    assert "Also, what about housing?" in html
    assert "Your file is complete." in html
    again = client.post(url, {"body": "Your file is complete.", "seen": response.context["seen"]})
    assert again.status_code == 302
