from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NeverCacheSignedInPagesMiddleware:
    """Pages and fragments for a signed-in user change with every text: a browser must always
    ask again (a cached fragment would show a conversation as it was), and never store them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            response["Cache-Control"] += ", no-store"
        return response
