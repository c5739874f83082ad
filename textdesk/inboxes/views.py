from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from textdesk.inboxes.switcher import switcher_inboxes


@require_GET
@login_required
def switcher(request: HttpRequest) -> HttpResponse:
    """The navigation's inbox list alone, re-fetched when a count changes."""
    inboxes = switcher_inboxes(request.user)
    current = next((i for i in inboxes if str(i.pk) == request.GET.get("current")), None)
    context = {"switcher_inboxes": inboxes, "inbox": current}
    return render(request, "inboxes/_switcher.html", context)
