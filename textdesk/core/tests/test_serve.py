"""`make run`'s last steps as a user runs them: set up, serve, text, reply, Ctrl-C."""

import os
import re
import signal
import subprocess
import sys
from urllib.parse import urlencode

import httpx
import pytest

from textdesk.processes import (
    ROOT,
    csrf,
    free_port,
    fresh_environment,
    manage,
    set_up_demo,
    sign_in,
    wait_for,
    wait_until_serving,
)

HANDSET = "+16175550123"
SHARED_NUMBER = "+16175550199"  # setup_demo's shared inbox


@pytest.fixture
def environment(tmp_path) -> dict:
    return fresh_environment(tmp_path, free_port(), SIMULATOR_RECEIPT_DELAY_SECONDS="0.2")


def test_serve_runs_the_app_and_the_worker_and_stops_on_ctrl_c(environment):
    password = set_up_demo(environment)
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
        wait_until_serving(base)
        with httpx.Client(base_url=base, timeout=5) as client:
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
