"""With REDIS_URL, several web processes share one channel layer: an event in one reaches a
page connected to another. Runs against the machine's Redis (started by .ci/run)."""

import json
import os
import uuid

import httpx
import pytest
import redis
from websockets.sync.client import connect

from textdesk.processes import (
    csrf,
    free_port,
    fresh_environment,
    set_up_demo,
    sign_in,
    start_web,
    wait_until_serving,
)

REDIS_URL = os.environ.get("TEXTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SHARED_NUMBER = "+16175550199"  # setup_demo's shared inbox


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as e:
        if os.environ.get("TEXTDESK_REQUIRE_REDIS"):
            pytest.fail(f"Redis is required here but {REDIS_URL} does not answer: {e}")
        pytest.skip(f"no Redis at {REDIS_URL} (set TEXTDESK_TEST_REDIS_URL)")
    return REDIS_URL


def test_an_event_in_one_server_reaches_a_page_on_the_other(tmp_path, redis_url):
    port_one, port_two = free_port(), free_port()
    common = {
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": f"textdesk-test-{uuid.uuid4().hex}",
        # Were the database relay carrying it instead, it would come far too late.
        "LIVE_RELAY_POLL_SECONDS": "10",
    }
    env_one = fresh_environment(tmp_path, port_one, **common)
    env_two = fresh_environment(tmp_path, port_two, **common)  # the same database
    password = set_up_demo(env_one)
    one, two = start_web(env_one, port_one), start_web(env_two, port_two)
    try:
        base_one, base_two = f"http://127.0.0.1:{port_one}", f"http://127.0.0.1:{port_two}"
        wait_until_serving(base_one)
        wait_until_serving(base_two)
        with httpx.Client(base_url=base_two, timeout=5) as client:
            sign_in(client, password)
            cookie = f"sessionid={client.cookies['sessionid']}"
        # A page served by server two listens ...
        with connect(
            f"ws://127.0.0.1:{port_two}/ws/",
            origin=base_two,
            additional_headers={"Cookie": cookie},
            open_timeout=5,
        ) as page:
            page.send(json.dumps({"type": "ping"}))
            assert json.loads(page.recv(timeout=5)) == {"kind": "pong"}
            # ... while a text arrives through server one.
            with httpx.Client(base_url=base_one, timeout=5) as client:
                client.cookies.set("sessionid", cookie.split("=", 1)[1])
                response = client.post(
                    "/simulator/send/",
                    data={
                        "handset": "+16175550123",
                        "service_number": SHARED_NUMBER,
                        "body": "Hello from the other server",
                        "csrfmiddlewaretoken": csrf(client, "/simulator/"),
                    },
                )
                assert response.status_code == 200
            event = json.loads(page.recv(timeout=3))
            assert event["kind"] == "message"
            assert event["direction"] == "in"
    finally:
        for server in (one, two):
            server.terminate()
            server.wait(timeout=10)


def test_a_page_from_another_origin_cannot_open_the_socket(tmp_path):
    port = free_port()
    env = fresh_environment(tmp_path, port)
    set_up_demo(env)
    server = start_web(env, port)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}")
        with pytest.raises(Exception, match="403"):
            connect(f"ws://127.0.0.1:{port}/ws/", origin="https://evil.example.com", open_timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=10)
