"""Import pages: upload, map the columns (with a preview), watch the progress, get the report."""

import csv
import io

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from textdesk.contacts import imports
from textdesk.contacts.models import ContactField, ContactImport
from textdesk.contacts.queries import get_import_or_404, get_team_or_404

COUNTRIES = [
    ("US", "United States / Canada (+1)"),
    ("GB", "United Kingdom (+44)"),
    ("MX", "Mexico (+52)"),
    ("FR", "France (+33)"),
    ("DE", "Germany (+49)"),
    ("IN", "India (+91)"),
    ("AU", "Australia (+61)"),
]


@require_http_methods(["GET", "POST"])
@login_required
def import_new(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    error = ""
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        if uploaded is None:
            error = "Choose a CSV file."
        else:
            try:
                contact_import = imports.start_import(team, request.user, uploaded)
            except imports.ImportRefused as e:
                error = str(e)
            else:
                return redirect("import", team_id=team.pk, import_id=contact_import.pk)
    recent = ContactImport.objects.filter(team=team)[:20]
    context = {"team": team, "error": error, "recent": recent}
    return render(request, "contacts/import_new.html", context, status=422 if error else 200)


def _choices(team) -> list[tuple[str, str]]:
    choices = list(imports.TARGETS.items())
    choices += [
        (f"custom:{f.key}", f"Custom field: {f.label}")
        for f in ContactField.objects.filter(team=team)
    ]
    return choices


@require_http_methods(["GET", "POST"])
@login_required
def import_detail(request: HttpRequest, team_id: int, import_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    contact_import = get_import_or_404(team, import_id)
    error = ""
    if request.method == "POST" and contact_import.status == ContactImport.Status.UPLOADED:
        mapping = {
            str(i): request.POST.get(f"column_{i}", "ignore")
            for i in range(len(contact_import.header))
        }
        for i in range(len(contact_import.header)):
            if mapping[str(i)] == "new":
                mapping[str(i)] = "new:" + request.POST.get(f"new_key_{i}", "").strip()
        try:
            imports.set_mapping(contact_import, mapping, request.POST.get("region", "US"))
        except imports.ImportRefused as e:
            error = str(e)
            contact_import.mapping = mapping
        else:
            return redirect("import", team_id=team.pk, import_id=contact_import.pk)
    columns = []
    preview = imports.preview_rows(contact_import) if contact_import.status == "uploaded" else []
    for i, name in enumerate(contact_import.header):
        target = contact_import.mapping.get(str(i), "ignore")
        columns.append(
            {
                "index": i,
                "name": name,
                "target": "new" if target.startswith("new:") else target,
                "new_key": target.removeprefix("new:") if target.startswith("new:") else "",
                "samples": [row[i] if i < len(row) else "" for row in preview],
            }
        )
    context = {
        "team": team,
        "contact_import": contact_import,
        "columns": columns,
        "choices": _choices(team),
        "countries": COUNTRIES,
        "error": error,
        "rejections": contact_import.rejections.all()[:20],
    }
    template = "contacts/_import_progress.html" if request.htmx else "contacts/import.html"
    return render(request, template, context, status=422 if error else 200)


@require_POST
@login_required
def import_resume(request: HttpRequest, team_id: int, import_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    imports.resume(get_import_or_404(team, import_id))
    return redirect("import", team_id=team.pk, import_id=import_id)


@require_GET
@login_required
def import_report(request: HttpRequest, team_id: int, import_id: int) -> HttpResponse:
    """Every rejected row, why, and what it held: fix them and import this file again."""
    team = get_team_or_404(request.user, team_id)
    contact_import = get_import_or_404(team, import_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "reason", *contact_import.header])
    for rejection in contact_import.rejections.all().iterator(chunk_size=2000):
        writer.writerow([rejection.row_number, rejection.reason, *rejection.values])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-{import_id}.csv"'
    return response
