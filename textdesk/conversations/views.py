"""The inbox pages. Views parse, check access and call actions; they hold no business rules."""

import uuid
import zoneinfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from textdesk.campaigns.models import MessageTemplate
from textdesk.compliance import consent
from textdesk.conversations import actions, locks
from textdesk.conversations.actions import SendConflict, SendRefused
from textdesk.conversations.forms import NewConversationForm, NoteForm, ReplyForm
from textdesk.conversations.models import Conversation
from textdesk.conversations.queries import (
    ListFilter,
    attach_lock_holders,
    conversations_in,
    get_conversation_or_404,
    is_unread,
    newest_message_id,
    search_conversations,
    timeline_of,
)
from textdesk.inboxes.actions import toggle_following
from textdesk.inboxes.models import Inbox
from textdesk.inboxes.queries import (
    accessible_inboxes,
    can_administer_inbox,
    get_inbox_or_404,
    inbox_members,
)
from textdesk.media.storage import MediaRefused, public_url, store_upload

PAGE_SIZE = 50


def _inbox(request: HttpRequest, inbox_id: int) -> Inbox:
    """The inbox the page is about (404 unless the user may see it); its times are shown in
    its team's time zone, whichever team the viewer happens to belong to first."""
    inbox = get_inbox_or_404(request.user, inbox_id)
    timezone.activate(zoneinfo.ZoneInfo(inbox.team.time_zone))
    return inbox


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
    conversations = conversations_in(inbox, show, request.user)
    page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
    attach_lock_holders(page.object_list)
    for conversation in page.object_list:
        conversation.unread = is_unread(conversation)
    context = {
        "inbox": inbox,
        "show": show,
        "filters": ListFilter.CHOICES,
        "page": page,
        "following": inbox.subscriptions.filter(user=request.user).exists(),
        "may_administer": can_administer_inbox(request.user, inbox),
    }
    if request.htmx and request.htmx.target == "conversation-list":
        return render(request, "conversations/_conversation_list.html", context)
    return render(request, "conversations/inbox.html", context)


def _conversation(request: HttpRequest, inbox_id: int, conversation_id: int) -> Conversation:
    return get_conversation_or_404(_inbox(request, inbox_id), conversation_id)


def _page_context(
    request: HttpRequest, conversation: Conversation, *, with_timeline: bool = True, **extra
) -> dict:
    """Everything the conversation page and its fragments show, for this viewer."""
    lock = locks.view_lock(conversation, request.user)
    context = {
        "inbox": conversation.inbox,
        "conversation": conversation,
        "timeline": timeline_of(conversation) if with_timeline else [],
        "lock": lock,
        "may_take_over": lock.held_by_someone_else
        and can_administer_inbox(request.user, conversation.inbox),
        "members": inbox_members(conversation.inbox),
        "tab": request.POST.get("tab") or request.GET.get("tab") or "",
        "seen": newest_message_id(conversation),
        "templates": MessageTemplate.objects.filter(team_id=conversation.inbox.team_id),
        "opt_out_reason": consent.opt_out_reason(conversation.contact, conversation.inbox),
    }
    context.update(extra)
    context.setdefault("form", ReplyForm())
    context.setdefault("note_form", NoteForm())
    return context


@require_GET
@login_required
def conversation(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, inbox_id, conversation_id)
    # Each page view is a tab of its own: its heartbeats keep the lock, its leaving ends it.
    tab = uuid.uuid4().hex
    locks.open_conversation(request.user, conversation, tab)
    actions.mark_read(request.user, conversation)
    context = _page_context(request, conversation, tab=tab)
    return render(request, "conversations/conversation.html", context)


@require_GET
@login_required
def thread(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    """The timeline alone, re-fetched when something in the conversation changes."""
    conversation = _conversation(request, inbox_id, conversation_id)
    actions.mark_read(request.user, conversation)
    return render(request, "conversations/_thread.html", _page_context(request, conversation))


@require_GET
@login_required
def header(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    """Lock, assignment and state, re-fetched when any of them changes."""
    conversation = _conversation(request, inbox_id, conversation_id)
    context = _page_context(request, conversation, with_timeline=False)
    return render(request, "conversations/_conversation_header.html", context)


@require_POST
@login_required
def reply(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, inbox_id, conversation_id)
    form = ReplyForm(request.POST, request.FILES)
    status = 422
    newer = None
    if form.is_valid():
        try:
            media_urls = []
            if form.cleaned_data.get("media"):
                stored = store_upload(
                    conversation.inbox.team, form.cleaned_data["media"], request.user
                )
                media_urls.append(public_url(stored))
            actions.send_reply(
                request.user,
                conversation,
                form.cleaned_data["body"],
                seen_message_id=form.cleaned_data.get("seen"),
                media_urls=media_urls,
            )
        except MediaRefused as e:
            form.add_error("media", e.message)
        except SendConflict as e:
            form.add_error(None, e.message)
            status, newer = 409, e.newer
        except SendRefused as e:
            form.add_error(e.field, e.message)
    if form.errors:
        # The draft stays in the box; ``seen`` moves on so that sending again goes through
        # once the sender has seen the new text.
        context = _page_context(request, conversation, form=form, newer=newer)
        if request.htmx:
            response = render(request, "conversations/_reply_form.html", context, status=status)
            return reswap(retarget(response, "#reply-form"), "outerHTML")
        return render(request, "conversations/conversation.html", context, status=status)
    if request.htmx:
        context = _page_context(request, conversation, sent=True)
        return render(request, "conversations/_reply_sent.html", context)
    return redirect("conversation", inbox_id=inbox_id, conversation_id=conversation_id)


def _after_change(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    """What a triage button answers: the refreshed header (htmx) or the page again."""
    if request.htmx:
        conversation.refresh_from_db()
        context = _page_context(request, conversation, with_timeline=False)
        return render(request, "conversations/_conversation_header.html", context)
    return redirect("conversation", inbox_id=conversation.inbox_id, conversation_id=conversation.pk)


def _triage(action):
    @require_POST
    @login_required
    def view(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
        conversation = _conversation(request, inbox_id, conversation_id)
        action(request.user, conversation)
        return _after_change(request, conversation)

    view.__name__ = action.__name__
    return view


close = _triage(actions.close)
reopen = _triage(actions.reopen)
no_reply_needed = _triage(actions.mark_no_reply_needed)


@require_POST
@login_required
def decide_revocation(
    request: HttpRequest, inbox_id: int, conversation_id: int, message_id: int
) -> HttpResponse:
    """One click on a text flagged as a possible opt-out: opt them out, or not an opt-out."""
    conversation = _conversation(request, inbox_id, conversation_id)
    message = get_object_or_404(conversation.messages, pk=message_id, direction="in")
    consent.decide_revocation(
        request.user, message, opt_out_now=request.POST.get("decision") == "opt_out"
    )
    return redirect("conversation", inbox_id=inbox_id, conversation_id=conversation_id)


@require_POST
@login_required
def take_over(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, inbox_id, conversation_id)
    try:
        locks.take_over(request.user, conversation)
    except PermissionDenied as e:
        return HttpResponse(str(e), status=403, content_type="text/plain")
    return _after_change(request, conversation)


@require_POST
@login_required
def assign(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, inbox_id, conversation_id)
    raw = request.POST.get("assignee", "")
    assignee = None
    if raw:
        try:
            assignee_id = int(raw)
        except ValueError:
            assignee_id = 0
        assignee = inbox_members(conversation.inbox).filter(pk=assignee_id).first()
        if assignee is None:
            return HttpResponse("Choose someone who works in this inbox.", status=422)
    actions.assign(request.user, conversation, assignee)
    return _after_change(request, conversation)


@require_POST
@login_required
def add_note(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, inbox_id, conversation_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            actions.add_note(request.user, conversation, form.cleaned_data["body"])
        except SendRefused as e:
            form.add_error("body", e.message)
    if form.errors:
        context = _page_context(request, conversation, note_form=form)
        if request.htmx:
            response = render(request, "conversations/_note_form.html", context, status=422)
            return reswap(retarget(response, "#note-form-box"), "outerHTML")
        return render(request, "conversations/conversation.html", context, status=422)
    if request.htmx:
        context = _page_context(request, conversation, note_sent=True)
        return render(request, "conversations/_note_sent.html", context)
    return redirect("conversation", inbox_id=inbox_id, conversation_id=conversation_id)


@require_POST
@login_required
def leave(request: HttpRequest, inbox_id: int, conversation_id: int) -> HttpResponse:
    """Sent by the page as it goes away (navigator.sendBeacon), with its tab id."""
    conversation = _conversation(request, inbox_id, conversation_id)
    tab = request.POST.get("tab", "")
    if tab:
        locks.leave(request.user, conversation.pk, tab)
    return HttpResponse(status=204)


@require_POST
@login_required
def follow(request: HttpRequest, inbox_id: int) -> HttpResponse:
    """Turn browser notifications for every new text in this inbox on or off."""
    toggle_following(request.user, _inbox(request, inbox_id))
    return redirect("inbox", inbox_id=inbox_id)


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    results = search_conversations(request.user, text)
    return render(request, "conversations/search.html", {"q": text, "results": results})


@require_http_methods(["GET", "POST"])
@login_required
def new_conversation(request: HttpRequest, inbox_id: int) -> HttpResponse:
    inbox = _inbox(request, inbox_id)
    form = NewConversationForm(request.POST or None)
    outside_hours = False
    if request.method == "POST" and form.is_valid():
        try:
            message = actions.start_conversation(
                request.user,
                inbox,
                form.cleaned_data["number"],
                form.cleaned_data["body"],
                outside_hours_ok=form.cleaned_data["send_anyway"],
            )
        except actions.OutsideQuietHours as e:
            form.add_error(None, e.message)
            outside_hours = True
        except SendRefused as e:
            form.add_error(e.field, e.message)
        else:
            return redirect(
                "conversation", inbox_id=inbox.pk, conversation_id=message.conversation_id
            )
    status = 422 if form.errors else 200
    context = {"inbox": inbox, "form": form, "outside_hours": outside_hours}
    return render(request, "conversations/new.html", context, status=status)
