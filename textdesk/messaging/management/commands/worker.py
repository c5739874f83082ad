import signal
import threading

from django.core.management.base import BaseCommand

from textdesk.messaging.worker import run_forever


class Command(BaseCommand):
    help = "Run the background worker: sends queued messages and other due work."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()

        def request_stop(signum, frame) -> None:
            # Finish the piece of work in hand, then leave: never abandon a claimed send.
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        run_forever(stop)
