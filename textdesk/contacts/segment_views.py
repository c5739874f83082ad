"""Segment pages: the list, the editor with a live count, static lists."""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from textdesk.campaigns.queries import sends_to_choose
from textdesk.contacts import actions
from textdesk.contacts.models import Contact, Segment
from textdesk.contacts.queries import (
    get_import_or_404,
    get_segment_or_404,
    get_team_or_404,
    tags_of,
    team_members,
)
from textdesk.contacts.segments import (
    OPS,
    SegmentError,
    compile_definition,
    contacts_in,
    describe,
    fields_for,
)
from textdesk.events.queries import events_visible_to

EMPTY = {"match": "all", "conditions": []}


def _definition(request: HttpRequest) -> dict:
    try:
        definition = json.loads(request.POST.get("definition") or "{}")
    except ValueError:
        return {"match": "all", "conditions": None}  # refused by compile_definition
    return definition if isinstance(definition, dict) else {"conditions": None}


@require_GET
@login_required
def segment_list(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    segments = list(Segment.objects.filter(team=team))
    for segment in segments:
        segment.summary = (
            describe(team, segment.definition) if segment.kind == Segment.Kind.DYNAMIC else ""
        )
    return render(request, "contacts/segments.html", {"team": team, "segments": segments})


def _editor_context(user, team, segment, definition, name, error="") -> dict:
    return {
        "team": team,
        "segment": segment,
        "name": name,
        "definition": json.dumps(definition),
        "fields": [(key, label, kind) for key, (label, kind) in fields_for(team).items()],
        "ops": json.dumps({kind: list(ops.items()) for kind, ops in OPS.items()}),
        "tags": tags_of(team),
        "members": team_members(team),
        "consents": Contact.Consent.choices,
        "sends": sends_to_choose(user, team),
        "events": events_visible_to(user, team).order_by("-starts_at")[:200],
        "error": error,
    }


@require_http_methods(["GET", "POST"])
@login_required
def segment_edit(request: HttpRequest, team_id: int, segment_id: int | None = None) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    segment = get_segment_or_404(team, segment_id) if segment_id else None
    if segment is not None and segment.kind == Segment.Kind.STATIC:
        return redirect("segment_members", team_id=team.pk, segment_id=segment.pk)
    if request.method == "POST":
        definition = _definition(request)
        try:
            segment = actions.save_segment(
                request.user,
                team,
                name=request.POST.get("name", ""),
                definition=definition,
                segment=segment,
            )
        except actions.SegmentRefused as e:
            context = _editor_context(
                request.user, team, segment, definition, request.POST.get("name", ""), str(e)
            )
            return render(request, "contacts/segment_edit.html", context, status=422)
        return redirect("segments", team_id=team.pk)
    definition = segment.definition if segment else EMPTY
    context = _editor_context(
        request.user, team, segment, definition, segment.name if segment else ""
    )
    return render(request, "contacts/segment_edit.html", context)


@require_POST
@login_required
def segment_count(request: HttpRequest, team_id: int) -> HttpResponse:
    """The live count while a segment is edited."""
    team = get_team_or_404(request.user, team_id)
    try:
        q = compile_definition(team, _definition(request))
    except SegmentError as e:
        return render(request, "contacts/_segment_count.html", {"error": str(e)})
    count = Contact.objects.filter(team=team).filter(q).count()
    return render(request, "contacts/_segment_count.html", {"count": count})


@require_GET
@login_required
def saved_segment_count(request: HttpRequest, team_id: int, segment_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    segment = get_segment_or_404(team, segment_id)
    try:
        count = contacts_in(segment).count()
    except SegmentError as e:  # a custom field it used was removed since
        return render(request, "contacts/_segment_count.html", {"error": str(e)})
    return render(request, "contacts/_segment_count.html", {"count": count})


@require_POST
@login_required
def segment_delete(request: HttpRequest, team_id: int, segment_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    actions.delete_segment(request.user, get_segment_or_404(team, segment_id))
    return redirect("segments", team_id=team.pk)


@require_POST
@login_required
def list_from_import(request: HttpRequest, team_id: int, import_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    segment = actions.list_from_import(request.user, get_import_or_404(team, import_id))
    return redirect("segment_members", team_id=team.pk, segment_id=segment.pk)


@require_POST
@login_required
def new_list(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    try:
        segment = actions.new_list(request.user, team, request.POST.get("name", ""))
    except actions.SegmentRefused as e:
        return HttpResponse(str(e), status=422)
    return redirect("segment_members", team_id=team.pk, segment_id=segment.pk)


def _ids(request: HttpRequest) -> list[int]:
    return [int(i) for i in request.POST.getlist("contact") if i.isdecimal()][:10_000]


@require_POST
@login_required
def add_to_list(request: HttpRequest, team_id: int) -> HttpResponse:
    """Hand-picked contacts from the contact list, into a static list."""
    team = get_team_or_404(request.user, team_id)
    raw = request.POST.get("segment", "")
    segment = get_segment_or_404(team, int(raw) if raw.isdecimal() else 0)
    try:
        actions.add_to_list(request.user, segment, _ids(request))
    except actions.SegmentRefused as e:
        return HttpResponse(str(e), status=422)
    return redirect("segment_members", team_id=team.pk, segment_id=segment.pk)


@require_http_methods(["GET", "POST"])
@login_required
def segment_members(request: HttpRequest, team_id: int, segment_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    segment = get_segment_or_404(team, segment_id)
    if request.method == "POST" and segment.kind == Segment.Kind.STATIC:
        actions.remove_from_list(request.user, segment, _ids(request))
        return redirect("segment_members", team_id=team.pk, segment_id=segment.pk)
    context = {"team": team, "segment": segment, "error": ""}
    try:
        contacts = contacts_in(segment).select_related("owner").order_by("last_name", "first_name")
        context |= {"contacts": list(contacts[:200]), "total": contacts.count()}
    except SegmentError as e:  # a custom field it used was removed since
        context |= {"contacts": [], "total": 0, "error": str(e)}
    return render(request, "contacts/segment_members.html", context)
