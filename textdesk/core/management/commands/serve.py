"""`make run`'s last step: the web server and the background worker, stopped together."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

STOP_TIMEOUT_SECONDS = 10


class Command(BaseCommand):
    help = "Serve Textdesk (uvicorn, ASGI) and run the background worker until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, host: str, port: int, **options) -> None:
        python = sys.executable
        web = [python, "-m", "uvicorn", "config.asgi:application", "--host", host]
        web += ["--port", str(port), "--no-server-header", "--lifespan", "off"]
        # Pages send tiny JSON messages over their socket; refuse anything large.
        web += ["--ws-max-size", "65536"]
        worker = [python, "manage.py", "worker"]
        children = [subprocess.Popen(web), subprocess.Popen(worker)]
        self.stdout.write(f"Textdesk is at http://{host}:{port}/ (Ctrl-C stops it)")

        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            # If either child dies, stop the other: half a Textdesk is worse than none.
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        if not stopping:
            self.stderr.write("The web server or the worker stopped unexpectedly; see above.")
            raise SystemExit(1)
        self.stdout.write("Textdesk stopped.")
