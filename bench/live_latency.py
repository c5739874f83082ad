"""How long from an inbound Twilio webhook to the text appearing in an open page.

Starts Textdesk (uvicorn, a fresh SQLite database; with --redis, the channel layer in Redis),
opens a conversation in headless Chromium, then posts N signed webhooks one after another and
notes when each text appears in the page (a MutationObserver timestamps it in the browser).
Prints the median, p95 and max, next to a plain HTTP round trip to the same server measured in
the same run.

    .venv/bin/python bench/live_latency.py [--messages 200] [--redis redis://127.0.0.1:6379/0]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from textdesk.processes import (
    free_port,
    fresh_environment,
    manage,
    set_up_demo,
    start_web,
    wait_until_serving,
)

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-token"
OUR_NUMBER = "+16175550111"
STUDENT = "+16175550142"
CHROMIUM = os.environ.get("TEXTDESK_CHROMIUM", "/usr/bin/chromium")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--redis", default="", help="use this Redis as the channel layer")
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    extra = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    if args.redis:
        extra |= {"REDIS_URL": args.redis, "REDIS_PREFIX": f"bench-{uuid.uuid4().hex}"}
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_environment(Path(var_dir), port, **extra)
        password = set_up_demo(env)
        manage(
            env,
            "add_inbox",
            "Twilio line",
            "--number",
            OUR_NUMBER,
            "--provider",
            "twilio",
            "--member",
            "admin",
        )
        server = start_web(env, port)
        try:
            wait_until_serving(base)
            run(base, password, args.messages, "redis" if args.redis else "in-memory")
        finally:
            server.terminate()
            server.wait(timeout=10)


def post_text(client: httpx.Client, base: str, body: str) -> None:
    path = "/webhooks/twilio/messages"
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": STUDENT,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(base + path, params)
    response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    response.raise_for_status()


def run(base: str, password: str, count: int, layer: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client, sync_playwright() as playwright:
        post_text(client, base, "first text")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.goto(f"{base}/login/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.goto(base + "/")
        page.click("text=Twilio line")
        page.click(".conversation-list a")
        page.wait_for_selector("#thread")
        page.wait_for_function("document.documentElement.dataset.live === 'open'")
        # Timestamp each text the moment it shows up in the thread.
        page.evaluate("""() => {
            window.appeared = {};
            new MutationObserver(() => {
                for (const p of document.querySelectorAll('#thread .body')) {
                    const text = p.textContent.trim();
                    if (text.startsWith('bench-') && !(text in window.appeared)) {
                        window.appeared[text] = Date.now();
                    }
                }
            }).observe(document.body, {childList: true, subtree: true});
        }""")

        latencies = []
        for n in range(count):
            label = f"bench-{n}"
            sent = time.time() * 1000
            post_text(client, base, label)
            page.wait_for_function(f"'{label}' in window.appeared", timeout=10_000)
            latencies.append(page.evaluate(f"window.appeared['{label}']") - sent)

        round_trips = []
        for _ in range(50):
            start = time.perf_counter()
            client.get("/healthz")
            round_trips.append((time.perf_counter() - start) * 1000)
        browser.close()

    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    baseline = statistics.median(round_trips)
    print(f"Webhook to text on screen, {count} texts, {layer} channel layer:")
    print(f"  median {median:.1f} ms   p95 {p95:.1f} ms   max {max(latencies):.1f} ms")
    print(f"  plain HTTP round trip to the same server: median {baseline:.1f} ms")
    print(f"  ratio (median latency / HTTP round trip): {median / baseline:.1f}x")


if __name__ == "__main__":
    main()
