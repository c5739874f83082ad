"""A throwaway HTTP server on loopback that plays the provider's media host in fetch tests: it
serves what a test tells it to, records every request, and can be slow, redirect or lie."""

import contextlib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before answering at all
    # When set, the body is followed by zeros up to this many bytes, sent in pieces with no
    # Content-Length (the end of the body is the end of the connection).
    stream_to: int | None = None
    drip_seconds: float = 0.0  # pause between pieces of a streamed body
    before_answer: Callable[[], None] | None = None


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]


class Origin:
    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()  # ends delays early when the test is over
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.port = self.server.server_address[1]
        self.scheme = "http"
        self.server_names: list[str | None] = []  # the TLS server names (SNI) clients sent
        if tls is not None:
            self.scheme = "https"
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "image/png",
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        stream_to: int | None = None,
        drip_seconds: float = 0.0,
    ) -> str:
        all_headers = {"Content-Type": content_type, **(headers or {})}
        self.routes[path] = Route(status, body, all_headers, delay, stream_to, drip_seconds)
        return self.url(path)

    def redirect(
        self,
        path: str,
        location: str,
        *,
        status: int = 302,
        before_answer: Callable[[], None] | None = None,
    ) -> str:
        self.routes[path] = Route(
            status=status, headers={"Location": location}, before_answer=before_answer
        )
        return self.url(path)

    def received(self, path: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def _handler_for(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            with origin.lock:
                origin.requests.append(Recorded(self.path, headers))
            route = origin.routes.get(self.path, Route(status=404, body=b"not here"))
            if route.delay and origin.closing.wait(route.delay):
                return
            if route.before_answer is not None:
                route.before_answer()
            # The client may hang up on purpose (too large, too slow).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(route)

        def _answer(self, route: Route) -> None:
            self.send_response(route.status)
            for key, value in route.headers.items():
                self.send_header(key, value)
            if route.stream_to is None and "Content-Length" not in route.headers:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
            if route.stream_to is None:
                return
            remaining = route.stream_to - len(route.body)
            while remaining > 0 and not origin.closing.is_set():
                piece = min(remaining, 64 * 1024)
                self.wfile.write(b"\x00" * piece)
                self.wfile.flush()
                remaining -= piece
                if route.drip_seconds and origin.closing.wait(route.drip_seconds):
                    return

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
