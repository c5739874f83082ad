"""Browser notifications and toasts, in real Chromium (the Notification API is recorded)."""

import pytest
from playwright.sync_api import expect

from textdesk.conversations.actions import assign
from textdesk.inboxes.actions import toggle_following
from textdesk.testing import PASSWORD, create_conversation, create_world, receive_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Stand-in for the browser's Notification: permission granted, every notification recorded.
RECORD_NOTIFICATIONS = """
window.shown = [];
window.Notification = function (title, options) { window.shown.push({title, body: options.body}); };
window.Notification.permission = "granted";
window.Notification.requestPermission = () => Promise.resolve("granted");
"""


def signed_in(browser, base_url: str, username: str):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    return context, page


def test_a_followed_inbox_notifies_of_each_new_text(browser, asgi_live_server):
    world = create_world()
    toggle_following(world.bob, world.shared)
    context, page = signed_in(browser, asgi_live_server, "bob")
    try:
        page.goto(f"{asgi_live_server}/simulator/")  # somewhere else in Textdesk
        expect(page.locator("html[data-live=open]")).to_have_count(1)
        receive_text(world.shared, "Is orientation mandatory?")
        page.wait_for_function("window.shown.length === 1")
        assert page.evaluate("window.shown[0].title") == "New text in Admissions"
        receive_text(world.charlie_inbox, "Not Bob's business")  # not even delivered to Bob
        receive_text(world.alice_personal, "Not Bob's either")
        page.wait_for_timeout(500)
        assert page.evaluate("window.shown.length") == 1
    finally:
        context.close()


def test_a_text_in_a_conversation_assigned_to_you_notifies_without_following(
    browser, asgi_live_server
):
    world = create_world()
    conversation = create_conversation(world.shared)
    assign(world.alice, conversation, world.bob)
    context, page = signed_in(browser, asgi_live_server, "bob")
    try:
        page.goto(f"{asgi_live_server}/inboxes/{world.shared.pk}/")
        expect(page.locator("html[data-live=open]")).to_have_count(1)
        receive_text(world.shared, "Any news?")
        page.wait_for_function("window.shown.length === 1")
        assert page.evaluate("window.shown[0].body") == "In a conversation assigned to you"
        receive_text(world.shared, "Someone else's question", sender="+16175550177")
        page.wait_for_timeout(500)
        assert page.evaluate("window.shown.length") == 1  # not assigned, inbox not followed
    finally:
        context.close()


def test_a_mention_shows_a_toast(browser, asgi_live_server):
    from textdesk.conversations.actions import add_note

    world = create_world()
    conversation = create_conversation(world.shared)
    context, page = signed_in(browser, asgi_live_server, "bob")
    try:
        page.goto(f"{asgi_live_server}/inboxes/{world.shared.pk}/")
        expect(page.locator("html[data-live=open]")).to_have_count(1)
        add_note(world.alice, conversation, "@bob can you check this one?")
        expect(page.locator("#toasts")).to_contain_text("Alice Archer mentioned you in a note.")
        expect(page.locator(".toast")).to_have_attribute(
            "href", f"/inboxes/{world.shared.pk}/conversations/{conversation.pk}/"
        )
    finally:
        context.close()
