"""Fixtures shared by the whole suite. Helpers and personas live in textdesk/testing.py."""

import pytest
from twilio.request_validator import RequestValidator

from textdesk.providers.twilio.fake_server import FakeTwilio, start_fake_twilio
from textdesk.testing import World, create_world

TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "12345678901234567890123456789012"
PUBLIC_URL = "https://textdesk.example.edu"


@pytest.fixture(autouse=True)
def _fast_and_isolated_settings(settings, tmp_path):
    # Real password hashing costs ~0.3 s a user; the login tests still check real passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TEXTDESK_PUBLIC_URL = PUBLIC_URL
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost", "textdesk.example.edu"]
    settings.SIMULATOR_RECEIPT_DELAY_SECONDS = 0
    settings.SIMULATOR_FAILURE_RATE = 0
    settings.TWILIO_ACCOUNT_SID = TWILIO_ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_AUTH_TOKEN
    # Nothing in the suite may reach the real Twilio.
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"
    settings.TWILIO_TIMEOUT_SECONDS = 2
    # A first text at night (in the recipient's zone) needs "send anyway"; tests would pass or
    # fail by the hour they run at, so only the tests of that rule turn it on.
    settings.QUIET_HOURS_FOR_FIRST_TEXTS = False
    # Files written by tests stay in the test's own folder.
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORTS_ROOT = tmp_path / "imports"


@pytest.fixture
def world(db) -> World:
    return create_world()


@pytest.fixture(scope="session")
def _fake_twilio_server():
    fake, server = start_fake_twilio(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_twilio(_fake_twilio_server, settings) -> FakeTwilio:
    """A fake Twilio REST API on loopback, fresh for each test, that our code really calls."""
    fake = _fake_twilio_server
    with fake.lock:
        fake.requests.clear()
        fake.messages.clear()
        fake.canned.clear()
        fake.media.clear()
        fake.slow.clear()
    settings.TWILIO_API_BASE = fake.base_url
    return fake


def twilio_signature(url: str, params: dict | list, token: str = TWILIO_AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of ``params`` to ``url``."""
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in params.items() if isinstance(params, dict) else params:
        query.appendlist(key, value)
    return RequestValidator(token).compute_signature(url, query)


@pytest.fixture
def signed_post(client):
    """POST form fields to a webhook path, signed the way Twilio signs them."""

    def post(path: str, params: dict, *, signature: str | None = None, sign_url: str | None = None):
        url = sign_url if sign_url is not None else PUBLIC_URL + path
        headers = {}
        if signature != "":
            headers["X-Twilio-Signature"] = signature or twilio_signature(url, params)
        return client.post(path, params, headers=headers)

    return post


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (which must never download a browser itself).

    Module-scoped: while Playwright's sync API is active it marks an event loop as running in
    this thread, which Django's sync-only code refuses; other modules must not see it."""
    import os
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    executable = os.environ.get("TEXTDESK_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"Chromium not found at {executable}: run `make test`, which installs it.")
    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
    # database calls from the test body, which are ordinary synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup, django_db_blocker):
    """Textdesk's real ASGI application (HTTP and WebSockets) served by uvicorn in a thread of
    this process: it uses the test database, the test settings and the same clock."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        "config.asgi:application", host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="asgi-live-server", daemon=True)
    with django_db_blocker.unblock():
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "the live server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=10)
        _close_other_sessions()


def _close_other_sessions() -> None:
    """Threads of the live server may still hold PostgreSQL sessions (Django keeps one per
    thread); end them, or dropping the test database at the end of the run would fail."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def running_worker(transactional_db):
    """The background worker, running in a thread against the test database."""
    import threading

    from django.db import connection

    from textdesk.messaging.worker import run_forever

    stop = threading.Event()

    def run() -> None:
        try:
            run_forever(stop)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture
def clock():
    """Textdesk's clock (textdesk.core.clock), moved forward by the test instead of sleeping."""
    from textdesk.core import clock as textdesk_clock

    textdesk_clock.reset()
    yield textdesk_clock
    textdesk_clock.reset()


@pytest.fixture(autouse=True)
def _quiet_database_after_browser_tests(request):
    """After a browser test, its pages' last requests (a leave beacon, a socket's goodbye) may
    still be writing through the live server when the test database is emptied; PostgreSQL can
    then deadlock the TRUNCATE. Wait until nobody else is busy in the database first."""
    yield
    if request.node.get_closest_marker("browser") is None:
        return
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        return  # SQLite's writers queue on the busy timeout instead
    deadline = time.monotonic() + 10
    quiet_since = None
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            busy = cursor.fetchone()[0]
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.3:
            return
        time.sleep(0.05)
