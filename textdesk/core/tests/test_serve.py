"""`make run`'s last steps as a user runs them: set up, serve, text, reply, Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
HANDSET = "+16175550123"
SHARED_NUMBER = "+16175550199"  # setup_demo's shared inbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {what}")


@pytest.fixture
def environment(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    port = free_port()
    env.update(
        TEXTDESK_VAR_DIR=str(tmp_path),
        PORT=str(port),
        TEXTDESK_PUBLIC_URL=f"http://127.0.0.1:{port}",
        SIMULATOR_RECEIPT_DELAY_SECONDS="0.2",
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def sign_in(client: httpx.Client, password: str) -> None:
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login/", data={"username": "admin", "password": password, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.text


def csrf(client: httpx.Client, path: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(path).text).group(1)


def test_serve_runs_the_app_and_the_worker_and_stops_on_ctrl_c(environment):
    manage(environment, "migrate", "--noinput")
    output = manage(environment, "setup_demo")
    password = re.search(r"Password:\s+(\S+)", output).group(1)
    assert "Password" not in manage(environment, "setup_demo")  # printed once only

    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like `make run` in a terminal
    )
    base = environment["TEXTDESK_PUBLIC_URL"]
    try:
        with httpx.Client(base_url=base, timeout=5) as client:

            def healthy() -> bool:
                try:
                    return client.get("/healthz").text == "ok"
                except httpx.TransportError:
                    return False

            wait_for(healthy, what="the server to answer")
            sign_in(client, password)

            # The phone texts the shared inbox.
            client.post(
                "/simulator/send/",
                data={
                    "handset": HANDSET,
                    "service_number": SHARED_NUMBER,
                    "body": "Is the open day on Saturday?",
                    "csrfmiddlewaretoken": csrf(client, "/simulator/"),
                },
            )
            home = client.get("/", follow_redirects=True)
            assert "Is the open day on Saturday?" in home.text
            conversation_url = re.search(r'href="(/inboxes/\d+/conversations/\d+/)"', home.text)[1]

            # The inbox replies; the worker process delivers it to the phone.
            replied = client.post(
                conversation_url + "reply/",
                data={
                    "body": "Yes, from 10 am.",
                    "csrfmiddlewaretoken": csrf(client, conversation_url),
                },
            )
            assert replied.status_code == 302, replied.text
            phone = "/simulator/?" + urlencode(
                {"handset": HANDSET, "service_number": SHARED_NUMBER}
            )
            wait_for(lambda: "Yes, from 10 am." in client.get(phone).text, what="the reply")
            wait_for(
                lambda: "Delivered" in client.get(conversation_url + "thread/").text,
                what="the delivery receipt",
            )
    finally:
        # Ctrl-C in a terminal signals the whole foreground group: serve, uvicorn and worker.
        os.killpg(server.pid, signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0, output
    assert "Textdesk stopped." in output
    assert "Worker stopped" in output
    leftovers = subprocess.run(["pgrep", "-g", str(server.pid)], capture_output=True, text=True)
    assert leftovers.stdout == "", "processes left behind"
