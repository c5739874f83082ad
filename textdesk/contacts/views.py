"""Contact pages: the list (search, filters, sorting, paging, export) and one contact."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from textdesk.compliance.models import PersonalOptOut
from textdesk.compliance.queries import is_team_admin
from textdesk.contacts import actions
from textdesk.contacts.export import csv_download
from textdesk.contacts.forms import ContactForm
from textdesk.contacts.models import Contact, ContactField
from textdesk.contacts.queries import (
    SORTS,
    conversations_of,
    filter_contacts,
    get_contact_or_404,
    get_segment_or_404,
    get_team_or_404,
    tags_of,
    team_members,
    teams_of,
)
from textdesk.contacts.segments import contacts_in

PAGE_SIZE = 50


@require_GET
@login_required
def contacts_home(request: HttpRequest) -> HttpResponse:
    team = teams_of(request.user).order_by("name").first()
    if team is None:
        return render(request, "contacts/no_team.html")
    return redirect("contacts", team_id=team.pk)


def _filters(request: HttpRequest) -> dict[str, str]:
    return {
        "text": request.GET.get("q", ""),
        "tag": request.GET.get("tag", ""),
        "owner": request.GET.get("owner", ""),
        "consent": request.GET.get("consent", ""),
        "sort": request.GET.get("sort", "name") if request.GET.get("sort") in SORTS else "name",
    }


@require_GET
@login_required
def contact_list(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    filters = _filters(request)
    contacts = filter_contacts(team, **filters).prefetch_related("tags")
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "team": team,
        "teams": teams_of(request.user).order_by("name"),
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "tags": tags_of(team),
        "members": team_members(team),
        "consents": Contact.Consent.choices,
        "sorts": [("name", "Name"), ("-created", "Newest"), ("-texted", "Last texted")],
    }
    return render(request, "contacts/list.html", context)


@require_GET
@login_required
def export(request: HttpRequest, team_id: int) -> HttpResponse:
    """The list as filtered on the page, or a segment (``?segment=``), as CSV."""
    team = get_team_or_404(request.user, team_id)
    segment_id = request.GET.get("segment", "")
    if segment_id.isdecimal():
        segment = get_segment_or_404(team, int(segment_id))
        actions.record_export(request.user, team, what=f"segment {segment.name}")
        return csv_download(team, contacts_in(segment), f"{team.name} {segment.name}")
    actions.record_export(request.user, team, what="contact list", filters=_filters(request))
    return csv_download(team, filter_contacts(team, **_filters(request)), f"{team.name} contacts")


@require_http_methods(["GET", "POST"])
@login_required
def contact_detail(request: HttpRequest, team_id: int, contact_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    contact = get_contact_or_404(team, contact_id)
    form = ContactForm(request.POST or None, contact=contact)
    if request.method == "POST" and form.is_valid():
        actions.update_contact(request.user, contact, form.cleaned_data)
        return redirect("contact", team_id=team.pk, contact_id=contact.pk)
    context = {
        "team": team,
        "contact": contact,
        "form": form,
        "custom_fields": ContactField.objects.filter(team=team),
        "conversations": conversations_of(contact, request.user),
        "team_admin": is_team_admin(request.user, team),
        "consent_history": contact.consent_changes.select_related("actor")[:50],
        "personal_opt_out": PersonalOptOut.objects.filter(phone=contact.phone).exists(),
    }
    return render(request, "contacts/detail.html", context, status=422 if form.errors else 200)
