"""Sending to many, in real Chromium: the compose wizard from audience to Send, then the send's
report following the worker live (its progress bar and the header's airplane, no reload), and
pause and resume from the report."""

import re
import time
from datetime import time as clock_time

import pytest
from playwright.sync_api import expect

from textdesk.campaigns.models import Send
from textdesk.contacts.models import Segment
from textdesk.conversations.models import Message
from textdesk.messaging.status import MessageStatus
from textdesk.testing import PASSWORD, SHARED_NUMBER, create_contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECIPIENTS = 60  # at or over the confirmation threshold (50)
BODY = "Hi {first_name|there}, open day is Saturday. Reply STOP to opt out."

# Records what the report's live part shows each time it changes (htmx swaps it whole), and
# marks the document, so that a reload (which would also show progress) is caught.
RECORD_PROGRESS = """() => {
  const seen = [];
  const read = () => {
    const bar = document.querySelector("#send-progress progress");
    const status = document.querySelector("#send-progress .send-status");
    if (!bar || !status) { return; }
    const now = { percent: Number(bar.getAttribute("value")), status: status.textContent.trim() };
    const last = seen[seen.length - 1];
    if (!last || last.percent !== now.percent || last.status !== now.status) { seen.push(now); }
  };
  read();
  new MutationObserver(read).observe(document.body, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  window.progressSeen = seen;
  window.sameDocument = true;
}"""

# Some percentage strictly between the first one seen and 100: only a live update shows it.
SAW_PROGRESS_LIVE = """() => window.progressSeen.some(
  (s) => s.percent > window.progressSeen[0].percent && s.percent < 100)"""


def sign_in(page, base_url: str, username: str = "alice") -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def open_day_admits(world, rate: float) -> Segment:
    """60 Admissions contacts (one without a first name), the shared inbox open at all hours,
    and its number slowed to ``rate`` segments a second, so that the send takes seconds."""
    world.shared.window_start, world.shared.window_end = clock_time(0, 0), clock_time(23, 59, 59)
    world.shared.save()
    number = world.shared.phone_numbers.get()
    number.segments_per_second = rate
    number.save()
    segment = Segment.objects.create(team=world.admissions, name="Open day admits", kind="static")
    contacts = [
        create_contact(world.admissions, f"+1617600{n:04d}", first_name=f"Stu{n}" if n else "")
        for n in range(RECIPIENTS)
    ]
    segment.members.add(*contacts)
    return segment


def compose_and_send(page, base_url: str, expected_duration: str) -> Send:
    """Through the wizard: the shared inbox, the segment, the message, the review, Send."""
    page.goto(f"{base_url}/compose/")
    page.get_by_label("Send from").select_option(label="Admissions (Admissions)")
    audience = page.get_by_role("group", name="Who gets it (any of these segments)")
    audience.get_by_label("Open day admits").check()
    expect(page.get_by_text(f"From {SHARED_NUMBER}, which sends")).to_be_visible()
    page.get_by_role("button", name="Next: the message").click()

    page.get_by_label("Message", exact=True).fill(BODY)
    page.get_by_role("button", name="Next: review").click()

    expect(page.locator(".review h2")).to_have_text(f"{RECIPIENTS} recipients")
    expect(page.locator(".review")).to_contain_text(f"{RECIPIENTS} as GSM-7")
    expect(page.locator(".estimate")).to_contain_text(f"Takes about {expected_duration}")
    expect(page.locator(".preview-bubble")).to_have_text(BODY)
    page.get_by_label(f"Yes, text {RECIPIENTS} people").check()
    page.get_by_role("button", name="Send", exact=True).click()

    expect(page).to_have_url(re.compile(r"/sends/\d+/$"))
    send = Send.objects.get()
    assert page.url.endswith(f"/sends/{send.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(send.name)
    return send


def handled(send: Send) -> int:
    """Texts of the send out of the queue (handed over or failed), as the database has it."""
    return Message.objects.filter(send=send).exclude(status=MessageStatus.QUEUED).count()


def test_compose_send_and_watch_it_go_out_live(page, asgi_live_server, running_worker, world):
    admits = open_day_admits(world, rate=20)  # 60 one-segment texts: about 3 s
    sign_in(page, asgi_live_server)
    send = compose_and_send(page, asgi_live_server, expected_duration="3 s")
    assert send.planned_recipients == RECIPIENTS
    assert list(send.segments.all()) == [admits]

    page.evaluate(RECORD_PROGRESS)
    first = page.evaluate("window.progressSeen[0]")
    assert first["percent"] < 100, f"the send was over before the report showed: {first}"

    # While it is going out, the header's airplane shows it (next to the report saying so).
    airplane = page.locator(f'#airplane a[href="/sends/{send.pk}/"]')
    page.wait_for_function(
        """(href) => {
          const link = document.querySelector(`#airplane a[href="${href}"]`);
          const status = document.querySelector("#send-progress .send-status");
          return link && /^\\d+%$/.test(link.querySelector(".airplane-count").textContent.trim())
            && status.textContent.trim() === "Sending";
        }""",
        arg=f"/sends/{send.pk}/",
    )
    expect(airplane.locator(".airplane-name")).to_contain_text("Hi {first_name|there}")

    # The bar moves on its own, then the send finishes, all on the page as it was loaded.
    page.wait_for_function(SAW_PROGRESS_LIVE, timeout=10_000)
    progress = page.locator("#send-progress")
    expect(progress.locator(".send-status")).to_have_text("Finished", timeout=15_000)
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(progress).to_contain_text(f"100% done · {RECIPIENTS} of {RECIPIENTS} recipients")
    expect(airplane).to_have_count(0)  # the header forgets it once it is done
    assert page.evaluate("window.sameDocument") is True, "the report was reloaded"
    seen = page.evaluate("window.progressSeen")
    percents = [s["percent"] for s in seen]
    assert percents == sorted(percents), seen
    assert seen[-1] == {"percent": 100, "status": "Finished"}

    # Everyone got the text, with their own name or the fallback.
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    bodies = dict(
        Message.objects.filter(send=send).values_list("conversation__contact__phone", "body")
    )
    assert len(bodies) == RECIPIENTS
    assert bodies["+16176000000"] == "Hi there, open day is Saturday. Reply STOP to opt out."
    assert bodies["+16176000007"] == "Hi Stu7, open day is Saturday. Reply STOP to opt out."
    assert handled(send) == RECIPIENTS


def test_pause_stops_the_send_and_resume_finishes_it(page, asgi_live_server, running_worker, world):
    open_day_admits(world, rate=10)  # about 6 s, so that there is time to pause it
    sign_in(page, asgi_live_server)
    send = compose_and_send(page, asgi_live_server, expected_duration="6 s")
    progress = page.locator("#send-progress")

    # Pause once some texts are out.
    page.evaluate(RECORD_PROGRESS)
    page.wait_for_function(SAW_PROGRESS_LIVE, timeout=10_000)
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".flash")).to_contain_text("Paused: nothing more goes out")
    expect(progress.locator(".send-status")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    expect(page.locator(f'#airplane a[href="/sends/{send.pk}/"] .airplane-count')).to_have_text(
        "Paused"
    )

    # Texts claimed just before the pause may still be on their way: let them land.
    deadline = time.monotonic() + 5
    while Message.objects.filter(
        send=send, status=MessageStatus.QUEUED, claimed_until__isnull=False
    ).exists():
        assert time.monotonic() < deadline, "claimed texts never came back"
        time.sleep(0.05)
    stopped_at = handled(send)
    assert 0 < stopped_at < RECIPIENTS
    expect(progress).to_contain_text(f"{stopped_at} of {RECIPIENTS} recipients handled")

    # Nothing more goes out while it is paused (the worker keeps running).
    time.sleep(1.5)
    assert handled(send) == stopped_at
    expect(progress).to_contain_text(f"{stopped_at} of {RECIPIENTS} recipients handled")
    expect(progress.locator(".send-status")).to_have_text("Paused")

    # Resume: it goes on where it stopped, to the end, followed live.
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".flash")).to_contain_text("Resumed: sending where it stopped.")
    page.evaluate(RECORD_PROGRESS)
    resumed = page.evaluate("window.progressSeen[0]")
    assert resumed["status"] == "Sending", resumed
    assert resumed["percent"] < 100, resumed
    expect(progress.locator(".send-status")).to_have_text("Finished", timeout=15_000)
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(progress).to_contain_text(f"100% done · {RECIPIENTS} of {RECIPIENTS} recipients")
    assert page.evaluate("window.sameDocument") is True, "the report was reloaded"
    assert page.evaluate("window.progressSeen.length") >= 2  # it changed after resuming
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert handled(send) == RECIPIENTS
