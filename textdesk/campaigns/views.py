"""Template pages: list, edit with a live preview for a chosen contact, insert into a reply."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from textdesk.campaigns import actions
from textdesk.campaigns.merge import TemplateError
from textdesk.campaigns.merge import render as render_merge
from textdesk.campaigns.models import MessageTemplate
from textdesk.contacts.models import Contact, ContactField
from textdesk.contacts.queries import get_team_or_404
from textdesk.conversations.queries import get_conversation_or_404
from textdesk.inboxes.queries import get_inbox_or_404
from textdesk.messaging.encoding import analyze_sms, suggest_gsm_replacements

SAMPLE_CONTACTS = 50


def _template(team, template_id: int | None) -> MessageTemplate | None:
    if template_id is None:
        return None
    found = MessageTemplate.objects.filter(team=team, pk=template_id).first()
    if found is None:
        raise Http404("No such template")
    return found


@require_GET
@login_required
def template_list(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    templates = MessageTemplate.objects.filter(team=team)
    return render(request, "campaigns/templates.html", {"team": team, "templates": templates})


def _sample_contacts(team):
    return Contact.objects.filter(team=team).order_by("last_name", "first_name")[:SAMPLE_CONTACTS]


@require_http_methods(["GET", "POST"])
@login_required
def template_edit(
    request: HttpRequest, team_id: int, template_id: int | None = None
) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    template = _template(team, template_id)
    error = ""
    if request.method == "POST":
        if request.POST.get("delete") and template is not None:
            actions.delete_template(request.user, template)
            return redirect("templates", team_id=team.pk)
        try:
            actions.save_template(
                request.user,
                team,
                name=request.POST.get("name", ""),
                body=request.POST.get("body", ""),
                template=template,
            )
        except actions.TemplateRefused as e:
            error = str(e)
        else:
            return redirect("templates", team_id=team.pk)
    context = {
        "team": team,
        "template": template,
        "name": request.POST.get("name", template.name if template else ""),
        "body": request.POST.get("body", template.body if template else ""),
        "error": error,
        "contacts": _sample_contacts(team),
        "fields": ContactField.objects.filter(team=team),
    }
    return render(request, "campaigns/template_edit.html", context, status=422 if error else 200)


def preview_context(team, body: str, contact: Contact | None) -> dict:
    """The text as ``contact`` would get it, its cost in segments, and what to fix."""
    context = {"body": body, "contact": contact}
    try:
        actions.check_template(team, body)
    except actions.TemplateRefused as e:
        return context | {"error": str(e)}
    values = contact.merge_values() if contact else {}
    rendered = render_merge(body, values)
    # The cost is the filled-in text's; the fix applies to the template itself (replacements
    # never touch braces or letters, so its merge fields survive).
    meter = meter_context(rendered.text, fix_for=body)
    return context | meter | {"rendered": rendered, "replace_target": "#template-body"}


def meter_context(text: str, *, fix_for: str | None = None) -> dict:
    """What ``text`` costs, and a one-click fix (to ``fix_for``, the text being edited, when
    that is not ``text`` itself) for the characters that force UCS-2."""
    analysis = analyze_sms(text)
    source = text if fix_for is None else fix_for
    suggestion = suggest_gsm_replacements(source) if analysis.ucs2_characters else None
    if suggestion is not None and suggestion.text == source:
        suggestion = None
    return {"analysis": analysis, "suggestion": suggestion, "text": text}


@require_POST
@login_required
def template_preview(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    raw = request.POST.get("contact", "")
    contact = (
        Contact.objects.filter(team=team, pk=int(raw)).select_related("owner").first()
        if raw.isdecimal()
        else None
    )
    context = preview_context(team, request.POST.get("body", ""), contact)
    return render(request, "campaigns/_preview.html", context)


@require_POST
@login_required
def meter(request: HttpRequest) -> HttpResponse:
    """Encoding and segments of a text as it is typed (the reply box)."""
    return render(request, "campaigns/_meter.html", meter_context(request.POST.get("body", "")))


@require_GET
@login_required
def template_for_conversation(
    request: HttpRequest, inbox_id: int, conversation_id: int, template_id: int
) -> HttpResponse:
    """A template filled in for the conversation's contact, to insert into the reply box."""
    inbox = get_inbox_or_404(request.user, inbox_id)
    conversation = get_conversation_or_404(inbox, conversation_id)
    template = _template(inbox.team, template_id)
    try:
        rendered = render_merge(template.body, conversation.contact.merge_values())
    except TemplateError as e:
        return JsonResponse({"error": str(e)}, status=422)
    return JsonResponse({"text": rendered.text, "missing": list(rendered.missing)})
