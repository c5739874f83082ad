"""One contact's data: export it (JSON, CSV) and erase it. The rules of who sees what live in
stewardship.py; these views only parse, call and answer."""

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from textdesk.compliance import stewardship
from textdesk.compliance.queries import get_team_for_admin
from textdesk.contacts.queries import get_contact_or_404, get_team_or_404

# What the admin types to confirm: erasing cannot be undone.
CONFIRMATION = "ERASE"


def _download(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    # Named by id, never by name: filenames end up in logs and download folders.
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@require_GET
@login_required
def export_json(request: HttpRequest, team_id: int, contact_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    contact = get_contact_or_404(team, contact_id)
    data = stewardship.export_contact(request.user, team, contact, fmt="json")
    return _download(
        stewardship.export_json_text(data),
        "application/json; charset=utf-8",
        f"contact-{contact.pk}.json",
    )


@never_cache
@require_GET
@login_required
def export_csv(request: HttpRequest, team_id: int, contact_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    contact = get_contact_or_404(team, contact_id)
    data = stewardship.export_contact(request.user, team, contact, fmt="csv")
    buffer = io.StringIO()
    csv.writer(buffer).writerows(stewardship.csv_rows(data))
    return _download(
        buffer.getvalue(), "text/csv; charset=utf-8", f"contact-{contact.pk}-messages.csv"
    )


@require_http_methods(["GET", "POST"])
@login_required
def erase(request: HttpRequest, team_id: int, contact_id: int) -> HttpResponse:
    team = get_team_for_admin(request.user, team_id)
    contact = get_contact_or_404(team, contact_id)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm", "").strip().upper() != CONFIRMATION:
            error = f"Type {CONFIRMATION} to confirm: erasing cannot be undone."
        else:
            try:
                erased = stewardship.erase_contact(request.user, contact)
            except stewardship.EraseRefused as e:
                error = str(e)
            else:
                kept = " Their opt-out is kept." if erased.opted_out else ""
                messages.success(
                    request,
                    f"Contact erased: {erased.messages} texts and {erased.notes} notes emptied, "
                    f"now known as {erased.pseudonym}.{kept}",
                )
                return redirect("contact", team_id=team.pk, contact_id=contact.pk)
    context = {
        "team": team,
        "contact": contact,
        "already_erased": stewardship.is_erased(contact),
        "summary": stewardship.erase_summary(contact),
        "confirmation": CONFIRMATION,
        "error": error,
    }
    return render(request, "compliance/erase.html", context, status=422 if error else 200)
