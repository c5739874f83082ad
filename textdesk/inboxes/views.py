from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from textdesk.inboxes import actions
from textdesk.inboxes.forms import InboxSettingsForm
from textdesk.inboxes.queries import can_administer_inbox, get_inbox_or_404
from textdesk.inboxes.switcher import switcher_inboxes


@require_GET
@login_required
def switcher(request: HttpRequest) -> HttpResponse:
    """The navigation's inbox list alone, re-fetched when a count changes."""
    inboxes = switcher_inboxes(request.user)
    current = next((i for i in inboxes if str(i.pk) == request.GET.get("current")), None)
    context = {"switcher_inboxes": inboxes, "inbox": current}
    return render(request, "inboxes/_switcher.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def inbox_settings(request: HttpRequest, inbox_id: int) -> HttpResponse:
    """The inbox's sending window, evening warning and footer (the team's admins)."""
    inbox = get_inbox_or_404(request.user, inbox_id)
    if not can_administer_inbox(request.user, inbox):
        raise PermissionDenied("Only the team's admins may change an inbox's settings.")
    form = InboxSettingsForm(request.POST or None, instance=inbox)
    if request.method == "POST" and form.is_valid():
        actions.save_inbox_settings(request.user, inbox, form.cleaned_data)
        messages.success(request, "Saved.")
        return redirect("inbox_settings", inbox_id=inbox.pk)
    inbox.refresh_from_db()  # the form may have changed the instance it was given
    context = {
        "inbox": inbox,
        "form": form,
        "earliest": settings.SENDING_WINDOW_EARLIEST,
        "latest": settings.SENDING_WINDOW_LATEST,
    }
    return render(request, "inboxes/settings.html", context, status=422 if form.errors else 200)
