"""The inbox pages. Views parse, check access and call actions; they hold no business rules."""

import zoneinfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from textdesk.conversations.actions import SendRefused, send_reply, start_conversation
from textdesk.conversations.forms import NewConversationForm, ReplyForm
from textdesk.conversations.queries import (
    ListFilter,
    conversations_in,
    get_conversation_or_404,
    thread_of,
)
from textdesk.inboxes.models import Inbox
from textdesk.inboxes.queries import accessible_inboxes, get_inbox_or_404

PAGE_SIZE = 50


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    first = accessible_inboxes(request.user).order_by("-kind", "name").first()
    if first is not None:
        return redirect("inbox", inbox_id=first.pk)
    return render(request, "conversations/no_inboxes.html")


@require_GET
@login_required
def inbox(request: HttpRequest, inbox_id: int) -> HttpResponse:
    inbox = _inbox(request, inbox_id)
    show = ListFilter.parse(request.GET.get("show"))
    page = Paginator(conversations_in(inbox, show), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"inbox": inbox, "show": show, "filters": ListFilter.CHOICES, "page": page}
    if request.htmx and request.htmx.target == "conversation-list":
        return render(request, "conversations/_conversation_list.html", context)
    return render(request, "conversations/inbox.html", context)


def _inbox(request: HttpRequest, inbox_id: int) -> Inbox:
    """The inbox the page is about (404 unless the user may see it); its times are shown in
    its team's time zone, whichever team the viewer happens to belong to first."""
    inbox = get_inbox_or_404(request.user, inbox_id)
    timezone.activate(zoneinfo.ZoneInfo(inbox.team.time_zone))
    return inbox


def _conversation_context(request: HttpRequest, inbox_id: int, conversation_id: int) -> dict:
    inbox = _inbox(request, inbox_id)
    conversation = get_conversation_or_404(inbox, conversation_id)
    return {"inbox": inbox, "conversation": conversation, "thread": thread_of(conversation)}


@require_GET
@login_required
def conversation(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    context = _conversation_context(request, inbox_id, conversation_id)
    context["form"] = ReplyForm()
    return render(request, "conversations/conversation.html", context)


@require_GET
@login_required
def thread(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    """The thread alone, for the page to refresh message statuses and new texts."""
    context = _conversation_context(request, inbox_id, conversation_id)
    return render(request, "conversations/_thread.html", context)


@require_POST
@login_required
def reply(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    context = _conversation_context(request, inbox_id, conversation_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            send_reply(request.user, context["conversation"], form.cleaned_data["body"])
        except SendRefused as e:
            form.add_error(e.field, e.message)
    if form.errors:
        context["form"] = form
        if request.htmx:
            response = render(request, "conversations/_reply_form.html", context, status=422)
            return reswap(retarget(response, "#reply-form"), "outerHTML")
        return render(request, "conversations/conversation.html", context, status=422)
    if request.htmx:
        context["thread"] = thread_of(context["conversation"])
        context["form"] = ReplyForm()
        return render(request, "conversations/_reply_sent.html", context)
    return redirect("conversation", inbox_id=inbox_id, conversation_id=conversation_id)


@require_http_methods(["GET", "POST"])
@login_required
def new_conversation(request: HttpRequest, inbox_id: int) -> HttpResponse:
    inbox = _inbox(request, inbox_id)
    form = NewConversationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            message = start_conversation(
                request.user, inbox, form.cleaned_data["number"], form.cleaned_data["body"]
            )
        except SendRefused as e:
            form.add_error(e.field, e.message)
        else:
            return redirect(
                "conversation", inbox_id=inbox.pk, conversation_id=message.conversation_id
            )
    status = 422 if form.errors else 200
    return render(request, "conversations/new.html", {"inbox": inbox, "form": form}, status=status)
