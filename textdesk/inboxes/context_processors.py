from django.http import HttpRequest

from textdesk.inboxes.switcher import switcher_inboxes


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
        "live_since": getattr(request, "live_since", 0),
    }
