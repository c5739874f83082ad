"""Two agents, two browsers, one conversation: the lock, live, in real Chromium."""

from dataclasses import dataclass

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from textdesk.conversations.models import Conversation, Message
from textdesk.testing import PASSWORD, World, create_conversation, create_world, receive_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_page(browser, base_url: str, username: str):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    return context, page


@dataclass
class TwoAgents:
    world: World
    conversation: Conversation
    url: str
    a: Page  # Bob, on the inbox
    b: Page  # Alice, an admin of its team
    context_b: BrowserContext


@pytest.fixture
def agents(browser, asgi_live_server, running_worker):
    """A student's conversation, and Bob and Alice signed in, each in a browser of their own."""
    world = create_world()
    conversation = create_conversation(world.shared)  # "Hi, is my application complete?"
    url = f"{asgi_live_server}/inboxes/{world.shared.pk}/conversations/{conversation.pk}/"
    context_a, a = signed_in_page(browser, asgi_live_server, "bob")
    context_b, b = signed_in_page(browser, asgi_live_server, "alice")
    yield TwoAgents(world, conversation, url, a, b, context_b)
    context_a.close()
    context_b.close()


def test_one_agent_holds_the_other_waits_then_takes_over_after_idle(
    agents, asgi_live_server, clock
):
    world, url, a, b, context_b = agents.world, agents.url, agents.a, agents.b, agents.context_b
    # A opens the conversation first and holds it; B sees that and cannot reply.
    a.goto(url)
    expect(a.locator(".lock-banner")).to_contain_text("You are answering")
    b.goto(url)
    expect(b.locator(".lock-banner")).to_contain_text("Being answered by Bob Baker")
    expect(b.get_by_role("button", name="Send")).to_be_disabled()
    expect(b.get_by_label("Reply")).not_to_be_editable()
    # The list says so too.
    list_page = context_b.new_page()
    list_page.goto(f"{asgi_live_server}/inboxes/{world.shared.pk}/")
    expect(list_page.locator(".conversation-list")).to_contain_text("Being answered by Bob")
    list_page.close()

    # A starts a reply but does not send it.
    a.get_by_label("Reply").press_sequentially("Let me check your file")

    # A new text from the student appears live in both pages.
    receive_text(world.shared, "Also, is housing guaranteed?")
    expect(a.locator("#thread")).to_contain_text("Also, is housing guaranteed?")
    expect(b.locator("#thread")).to_contain_text("Also, is housing guaranteed?")

    # A walks away: past the idle timeout the worker lets the lock go; both pages learn.
    clock.advance(world.shared.lock_idle_seconds + 1)
    expect(b.locator(".lock-banner")).to_contain_text("Nobody is answering")
    expect(a.locator(".lock-banner")).to_contain_text("Nobody is answering")
    expect(a.locator("#toasts")).to_contain_text("You were idle")

    # B starts typing, which takes the conversation ...
    b.get_by_label("Reply").press_sequentially("Hi! Yes, your file is complete.")
    expect(a.locator(".lock-banner")).to_contain_text("Being answered by Alice Archer")
    expect(b.locator(".lock-banner")).to_contain_text("You are answering")
    # ... but the student writes again before B sends: Textdesk asks B to read it first.
    receive_text(world.shared, "And when is the deadline?")
    expect(b.locator("#thread")).to_contain_text("And when is the deadline?")
    b.get_by_role("button", name="Send").click()
    expect(b.locator("#reply-form")).to_contain_text("A new text arrived while you were writing")
    expect(b.get_by_label("Reply")).to_have_value("Hi! Yes, your file is complete.")
    b.get_by_role("button", name="Send").click()
    expect(b.locator("#thread li.outbound")).to_contain_text("Hi! Yes, your file is complete.")
    expect(a.locator("#thread li.outbound")).to_contain_text("Hi! Yes, your file is complete.")
    assert Message.objects.filter(direction="out").count() == 1

    # A's unsent draft is still there, read-only while B holds the conversation ...
    expect(a.get_by_label("Reply")).to_have_value("Let me check your file")
    expect(a.get_by_role("button", name="Send")).to_be_disabled()
    # ... and still there after a reload.
    a.reload()
    expect(a.get_by_label("Reply")).to_have_value("Let me check your file")


def test_closing_the_tab_lets_the_lock_go_at_once(agents, asgi_live_server):
    a, b = agents.a, agents.b
    a.goto(agents.url)
    expect(a.locator(".lock-banner")).to_contain_text("You are answering")
    b.goto(agents.url)
    expect(b.locator(".lock-banner")).to_contain_text("Being answered by Bob Baker")
    a.goto(f"{asgi_live_server}/inboxes/{agents.world.shared.pk}/")  # A navigates away
    expect(b.locator(".lock-banner")).to_contain_text("Nobody is answering")


def test_an_admin_takes_over_and_the_holder_is_told(agents):
    a, b = agents.a, agents.b
    a.goto(agents.url)
    expect(a.locator(".lock-banner")).to_contain_text("You are answering")
    a.get_by_label("Reply").press_sequentially("Half-written answer")
    b.goto(agents.url)
    b.get_by_role("button", name="Take over").click()
    expect(b.locator(".lock-banner")).to_contain_text("You are answering")
    expect(a.locator(".lock-banner")).to_contain_text("Being answered by Alice Archer")
    expect(a.locator("#toasts")).to_contain_text("took over your conversation")
    expect(a.get_by_label("Reply")).to_have_value("Half-written answer")
    expect(a.locator("#thread")).to_contain_text("Alice Archer took over from Bob Baker.")


def test_the_holder_is_warned_before_going_idle_and_can_keep_the_lock(browser, asgi_live_server):
    world = create_world()
    world.shared.lock_idle_seconds = 22  # the warning shows 20 s before: after 2 s idle here
    world.shared.save()
    conversation = create_conversation(world.shared)
    url = f"{asgi_live_server}/inboxes/{world.shared.pk}/conversations/{conversation.pk}/"
    context, page = signed_in_page(browser, asgi_live_server, "bob")
    try:
        page.goto(url)
        warning = page.locator(".idle-warning")
        expect(warning).to_be_hidden()
        expect(warning).to_be_visible(timeout=6_000)
        expect(warning).to_contain_text("You will stop answering soon")
        page.get_by_role("button", name="Keep answering").click()
        expect(warning).to_be_hidden()
        expect(page.locator(".lock-banner")).to_contain_text("You are answering")
    finally:
        context.close()
