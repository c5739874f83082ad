"""The foundation's promise, in a real browser: a text from the simulator appears in the
shared inbox, and the reply typed there reaches the simulated phone, delivered."""

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from textdesk.testing import PASSWORD, SHARED_NUMBER, create_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HANDSET = "+16175550123"
PHONE = "/simulator/?" + urlencode({"handset": HANDSET, "service_number": SHARED_NUMBER})


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_a_text_from_the_simulator_is_answered_from_the_shared_inbox(
    page, asgi_live_server, running_worker, settings
):
    settings.SIMULATOR_RECEIPT_DELAY_SECONDS = 0.5
    world = create_world()
    sign_in(page, asgi_live_server, "bob")
    expect(page).to_have_url(re.compile(rf"/inboxes/{world.shared.pk}/$"))

    # A student texts the shared inbox from a simulated phone.
    page.goto(asgi_live_server + PHONE)
    page.get_by_label("Text message").fill("Hi! When is the open day?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#phone-thread")).to_contain_text("Hi! When is the open day?")

    # It shows in the inbox as awaiting a reply; open it and answer.
    page.goto(f"{asgi_live_server}/inboxes/{world.shared.pk}/?show=unreplied")
    row = page.locator(".conversation-list li.unreplied").first
    expect(row).to_contain_text("Hi! When is the open day?")
    row.get_by_role("link").click()
    expect(page.locator("#thread")).to_contain_text("Hi! When is the open day?")
    page.get_by_label("Reply").fill("Saturday at 10 in the Great Hall. See you there!")
    page.get_by_role("button", name="Send").click()

    # The reply shows at once, and its status follows the provider's receipts.
    reply = page.locator("#thread li.outbound").last
    expect(reply).to_contain_text("Saturday at 10 in the Great Hall.")
    expect(page.get_by_label("Reply")).to_have_value("")
    expect(reply.locator(".status")).to_have_text("Delivered", timeout=20_000)

    # The phone has it.
    page.goto(asgi_live_server + PHONE)
    expect(page.locator("#phone-thread")).to_contain_text("Saturday at 10 in the Great Hall.")

    # And the shared inbox no longer lists it as unreplied.
    page.goto(f"{asgi_live_server}/inboxes/{world.shared.pk}/?show=unreplied")
    expect(page.locator(".conversation-list")).to_contain_text("Nothing awaits a reply.")


def test_a_new_text_appears_in_an_open_inbox_without_reloading(page, asgi_live_server, settings):
    world = create_world()
    sign_in(page, asgi_live_server, "bob")
    expect(page.locator(".conversation-list")).to_contain_text("No open conversations")

    from textdesk.testing import receive_text

    receive_text(world.shared, "Is the library open on Sunday?")
    expect(page.locator(".conversation-list")).to_contain_text(
        "Is the library open on Sunday?", timeout=15_000
    )


def test_a_wrong_password_is_refused(page, asgi_live_server):
    create_world()
    page.goto(f"{asgi_live_server}/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
