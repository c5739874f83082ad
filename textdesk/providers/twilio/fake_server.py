"""A fake Twilio REST API on loopback, for tests: a real HTTP server that records what it
receives and answers the way Twilio does (status codes, JSON bodies, error codes).

Twilio's magic test numbers behave as on Twilio's test credentials:
+15005550001 is invalid (21211), +15005550009 cannot receive SMS (21614).
Tests can also queue one-off answers (a 500, a 429, a slow answer) with ``fail_next``.
"""

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

INVALID_NUMBER = "+15005550001"
NOT_MOBILE_NUMBER = "+15005550009"
UNSUBSCRIBED_NUMBER = "+15005550004"  # as Twilio's test numbers: texted STOP to the carrier


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: list[tuple[str, str]]

    def field(self, name: str) -> str | None:
        values = self.fields(name)
        return values[0] if values else None

    def fields(self, name: str) -> list[str]:
        return [value for key, value in self.form if key == name]

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        header = self.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user, password


@dataclass
class CannedAnswer:
    status: int
    body: dict
    delay: float = 0.0


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: dict[str, dict] = field(default_factory=dict)
    canned: list[CannedAnswer] = field(default_factory=list)
    slow: list[float] = field(default_factory=list)
    # Pictures of inbound MMS, served (with basic auth) at these paths.
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def fail_next(self, status: int, code: int | None = None, message: str = "", delay: float = 0):
        body = {"code": code, "message": message or "Simulated failure", "status": status}
        with self.lock:
            self.canned.append(CannedAnswer(status, body, delay))

    def accept_slowly_next(self, delay: float) -> None:
        """The next message is created as usual, but the answer comes after ``delay`` seconds
        (long enough for the client to give up: Twilio has it, the client does not know)."""
        with self.lock:
            self.slow.append(delay)

    def add_media(self, message_sid: str, content_type: str, data: bytes) -> str:
        """Serve a picture of an inbound MMS as Twilio does; returns its URL."""
        messages = f"/2010-04-01/Accounts/{self.account_sid}/Messages"
        path = f"{messages}/{message_sid}/Media/ME{uuid.uuid4().hex}"
        with self.lock:
            self.media[path] = (content_type, data)
        return self.base_url + path

    def sent(self) -> list[RecordedRequest]:
        """The message-create requests received so far."""
        with self.lock:
            return [
                r for r in self.requests if r.method == "POST" and r.path.endswith("/Messages.json")
            ]

    def answer(self, method: str, path: str, headers: dict, form: list) -> tuple[int, dict, float]:
        with self.lock:
            self.requests.append(RecordedRequest(method, path, headers, form))
            canned = self.canned.pop(0) if self.canned else None
        if canned:
            return canned.status, canned.body, canned.delay
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return 401, _error(20003, "Authenticate", 401), 0
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/Messages"
        if method == "GET" and path in self.media:
            content_type, data = self.media[path]
            return 200, {"__raw__": data, "__type__": content_type}, 0
        if method == "POST" and path == prefix + ".json":
            status, body, _ = self._create_message(
                dict(form), [v for k, v in form if k == "MediaUrl"]
            )
            with self.lock:
                delay = self.slow.pop(0) if self.slow else 0
            return status, body, delay
        if method == "GET" and path.split("?")[0] == prefix + ".json":
            return 200, self._list_messages(path), 0
        if method == "GET" and path.startswith(prefix + "/") and path.endswith(".json"):
            sid = path[len(prefix) + 1 : -len(".json")]
            with self.lock:
                message = self.messages.get(sid)
            if message is None:
                return 404, _error(20404, f"The requested resource {path} was not found", 404), 0
            return 200, message, 0
        return 404, _error(20404, f"The requested resource {path} was not found", 404), 0

    def _list_messages(self, path: str) -> dict:
        """Twilio's list, newest first, filtered by To and From."""
        query = dict(parse_qsl(path.partition("?")[2]))
        with self.lock:
            messages = list(self.messages.values())
        found = [
            m
            for m in reversed(messages)
            if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])
        ]
        return {"messages": found[: int(query.get("PageSize", "50"))]}

    def _create_message(self, form: dict, media: list[str]) -> tuple[int, dict, float]:
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400), 0
        if not sender:
            return 400, _error(21603, "A 'From' phone number is required.", 400), 0
        if not body and not media:
            return 400, _error(21602, "Message body is required.", 400), 0
        if len(body) > 1600:
            return (
                400,
                _error(
                    21617, "The concatenated message body exceeds the 1600 character limit.", 400
                ),
                0,
            )
        if to == INVALID_NUMBER:
            return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400), 0
        if to == NOT_MOBILE_NUMBER:
            return 400, _error(21614, f"'To' number {to} is not a valid mobile number", 400), 0
        if to == UNSUBSCRIBED_NUMBER:
            return 400, _error(21610, "Attempt to send to unsubscribed recipient", 400), 0
        sid = ("MM" if media else "SM") + uuid.uuid4().hex
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "from": sender,
            "to": to,
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "num_media": str(len(media)),
            "num_segments": "1",
            "error_code": None,
            "error_message": None,
            "api_version": "2010-04-01",
            "date_created": formatdate(usegmt=True),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self.lock:
            self.messages[sid] = message
        return 201, message, 0


def _error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def start_fake_twilio(account_sid: str, auth_token: str) -> tuple[FakeTwilio, ThreadingHTTPServer]:
    fake = FakeTwilio(account_sid=account_sid, auth_token=auth_token)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = parse_qsl(raw, keep_blank_values=True)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, delay = fake.answer(self.command, self.path, headers, form)
            if delay:
                time.sleep(delay)
            if "__raw__" in body:
                payload, content_type = body["__raw__"], body["__type__"]
            else:
                payload, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout tests do this on purpose)

        do_GET = _handle
        do_POST = _handle

        def log_message(self, format, *args) -> None:  # keep test output quiet
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # many concurrent senders (the default 5 resets connections)

    server = Server(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, name="fake-twilio", daemon=True).start()
    return fake, server
