from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from textdesk.inboxes.queries import inboxes_with_unreplied_counts


@require_GET
@login_required
def switcher(request: HttpRequest) -> HttpResponse:
    """The navigation's inbox list alone, re-fetched when a count changes."""
    inboxes = inboxes_with_unreplied_counts(request.user)
    current = next((i for i in inboxes if str(i.pk) == request.GET.get("current")), None)
    context = {"switcher_inboxes": inboxes, "inbox": current}
    return render(request, "inboxes/_switcher.html", context)
