from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from textdesk.live.models import LiveEvent


class LiveSinceMiddleware:
    """Note the newest live event before a page is built: its socket asks for everything
    after it, so nothing that happens while the page loads is missed (an event the page
    already shows is only fetched again)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        full_page = request.method == "GET" and not request.headers.get("HX-Request")
        if full_page and request.user.is_authenticated:
            newest = LiveEvent.objects.order_by("-id").values_list("id", flat=True).first()
            request.live_since = newest or 0
        return self.get_response(request)
