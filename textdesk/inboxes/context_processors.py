from django.http import HttpRequest

from textdesk.inboxes.queries import inboxes_with_unreplied_counts


def inbox_switcher(request: HttpRequest) -> dict:
    """The inboxes shown in the navigation of every signed-in page (one query, lazily)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cache: list = []

    def switcher_inboxes() -> list:
        if not cache:
            cache.append(inboxes_with_unreplied_counts(user))
        return cache[0]

    return {"switcher_inboxes": switcher_inboxes}
