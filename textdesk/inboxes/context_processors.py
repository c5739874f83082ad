from django.http import HttpRequest

from textdesk.inboxes.switcher import switcher_inboxes
from textdesk.live.models import LiveEvent


def live_since(request: HttpRequest) -> int:
    """The newest live event before this page was built (noted at the start of GET requests;
    read now for pages rendered by a POST, such as a form shown again with its errors)."""
    noted = getattr(request, "live_since", None)
    if noted is not None:
        return noted
    return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def inbox_switcher(request: HttpRequest) -> dict:
    """The inboxes shown in the navigation of every signed-in page (queried lazily, once)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cache: list = []

    def inboxes() -> list:
        if not cache:
            cache.append(switcher_inboxes(user))
        return cache[0]

    def following_inbox_ids() -> list[int]:
        return list(user.inbox_subscriptions.values_list("inbox_id", flat=True))

    return {
        "switcher_inboxes": inboxes,
        "following_inbox_ids": following_inbox_ids,
        "live_since": live_since(request),
    }
