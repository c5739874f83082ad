"""Consent in a real browser: a text that reads as an opt-out is confirmed with one click, the
phone gets the confirmation, and the reply box says why it is off."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from textdesk.conversations.tests.test_browser_round_trip import sign_in
from textdesk.testing import SHARED_NUMBER, create_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HANDSET = "+16175550123"
PHONE = "/simulator/?" + urlencode({"handset": HANDSET, "service_number": SHARED_NUMBER})


def test_a_flagged_revocation_is_confirmed_with_one_click(
    page, asgi_live_server, running_worker, settings
):
    settings.SIMULATOR_RECEIPT_DELAY_SECONDS = 0.2
    world = create_world()
    page.goto(asgi_live_server + "/login/")
    sign_in(page, asgi_live_server, "bob")

    page.goto(asgi_live_server + PHONE)
    page.get_by_label("Text message").fill("Please stop texting me")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#phone-thread")).to_contain_text("Please stop texting me")

    page.goto(f"{asgi_live_server}/inboxes/{world.shared.pk}/")
    page.locator(".conversation-list li").first.get_by_role("link").click()
    flagged = page.locator("#thread li.inbound").last
    expect(flagged).to_contain_text("May be asking to opt out")
    expect(page.get_by_label("Reply")).to_be_enabled()

    flagged.get_by_role("button", name="Opt them out").click()

    expect(page.locator(".opted-out-note")).to_contain_text(
        "has opted out of texts from Admissions"
    )
    expect(page.get_by_label("Reply")).to_be_disabled()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    expect(page.locator("#thread")).to_contain_text("Opt-out confirmed by staff")
    expect(page.locator("#thread li.outbound").last).to_contain_text(world.admissions.opt_out_reply)

    page.goto(asgi_live_server + PHONE)
    expect(page.locator("#phone-thread")).to_contain_text(
        world.admissions.opt_out_reply, timeout=15_000
    )


def test_a_stop_arriving_while_the_conversation_is_open_turns_the_reply_box_off(
    page, asgi_live_server
):
    from textdesk.testing import receive_text

    world = create_world()
    conversation = receive_text(world.shared, "Hi, when is orientation?").conversation
    page.goto(asgi_live_server + "/login/")
    sign_in(page, asgi_live_server, "bob")
    page.goto(f"{asgi_live_server}/inboxes/{world.shared.pk}/conversations/{conversation.pk}/")
    page.get_by_label("Reply").fill("It's on")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()

    receive_text(world.shared, "STOP")

    expect(page.locator("#thread")).to_contain_text("STOP", timeout=15_000)
    expect(page.locator(".opted-out-note")).to_contain_text("has opted out")
    expect(page.get_by_label("Reply")).to_be_disabled()
    expect(page.get_by_label("Reply")).to_have_value("It's on")  # the draft is kept
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
