"""Helpers for tests and benchmarks that run Textdesk as real processes, as a user would:
a fresh SQLite database in a folder, `manage.py` commands, servers on free ports."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


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
        time.sleep(0.1)
    raise AssertionError(f"Timed out waiting for {what}")


def fresh_environment(var_dir: Path, port: int, **extra: str) -> dict:
    """The environment of a Textdesk with its own SQLite database in ``var_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        TEXTDESK_VAR_DIR=str(var_dir),
        PORT=str(port),
        TEXTDESK_PUBLIC_URL=f"http://127.0.0.1:{port}",
        **extra,
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def set_up_demo(env: dict) -> str:
    """Migrate and create the demo; returns the admin's password."""
    manage(env, "migrate", "--noinput")
    output = manage(env, "setup_demo")
    return re.search(r"Password:\s+(\S+)", output).group(1)


def start_web(env: dict, port: int) -> subprocess.Popen:
    """The ASGI app alone (no worker) on ``port``."""
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--lifespan", "off", "--log-level", "warning"]
    command += ["--ws-max-size", "65536"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_until_serving(base_url: str) -> None:
    def healthy() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=2).text == "ok"
        except httpx.TransportError:
            return False

    wait_for(healthy, what=f"{base_url} to answer")


def csrf(client: httpx.Client, path: str) -> str:
    return CSRF_FIELD.search(client.get(path).text).group(1)


def sign_in(client: httpx.Client, password: str, username: str = "admin") -> None:
    data = {
        "username": username,
        "password": password,
        "csrfmiddlewaretoken": csrf(client, "/login/"),
    }
    response = client.post("/login/", data=data)
    assert response.status_code == 302, response.text
