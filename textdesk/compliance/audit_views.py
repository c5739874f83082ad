"""The audit trail and the opt-out history of a team, with their CSV exports (team admins).

What the pages list, and why texts sent are a filter rather than rows among the events, is
explained in audit_queries.py."""

import zoneinfo
from collections.abc import AsyncIterator, Callable

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from textdesk.accounts.models import Team
from textdesk.compliance import actions
from textdesk.compliance.audit_queries import (
    ACTION_GROUPS,
    AUDIT_COLUMNS,
    OPT_OUT_COLUMNS,
    SENT,
    AuditFilters,
    OptOutFilters,
    audit_csv_values,
    audit_entries,
    audit_rows,
    changed_by,
    consent_changes,
    csv_line,
    next_chunk,
    opt_out_csv_values,
    parse_audit_filters,
    parse_opt_out_filters,
    team_zone,
)
from textdesk.compliance.models import ConsentChange
from textdesk.compliance.queries import get_team_for_admin
from textdesk.contacts.queries import team_members
from textdesk.core import clock
from textdesk.inboxes.models import Inbox

PAGE_SIZE = 50
CSV_CHUNK = 1000


def _team(request: HttpRequest, team_id: int) -> Team:
    """The team (its admins only); its pages show times in its zone, whichever team's zone the
    session had."""
    team = get_team_for_admin(request.user, team_id)
    timezone.activate(zoneinfo.ZoneInfo(team.time_zone))
    return team


def _query(request: HttpRequest) -> str:
    """The filters, for the pager's and the export's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _download(lines: AsyncIterator[str], team: Team, what: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    day = timezone.localdate(clock.now(), team_zone(team)).isoformat()
    filename = f"{slugify(team.name) or 'team'}-{what}-{day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


async def _lines(
    header: list[str], entries: QuerySet, to_lines: Callable[[list], str]
) -> AsyncIterator[str]:
    """The CSV, a chunk at a time: a long history never sits in memory at once."""
    yield csv_line(header)
    last = None
    while chunk := await sync_to_async(next_chunk)(entries, last, CSV_CHUNK):
        yield await sync_to_async(to_lines)(chunk)
        last = chunk[-1]


# --- The audit trail -----------------------------------------------------------------------


@require_GET
@login_required
def audit(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id)
    filters = parse_audit_filters(request.GET)
    inboxes = list(Inbox.objects.filter(team=team).order_by("name"))
    page = Paginator(audit_entries(team, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "team": team,
        "page": page,
        "rows": audit_rows(team, page.object_list, {i.pk: i.name for i in inboxes}),
        "filters": filters,
        "query": _query(request),
        "action_groups": ACTION_GROUPS,
        "sent": SENT,
        "members": team_members(team),
        "inboxes": inboxes,
    }
    return render(request, "compliance/audit.html", context)


def _audit_lines(team: Team, filters: AuditFilters) -> AsyncIterator[str]:
    zone = team_zone(team)

    def to_lines(chunk: list) -> str:
        return "".join(csv_line(audit_csv_values(row, zone)) for row in audit_rows(team, chunk))

    return _lines(AUDIT_COLUMNS, audit_entries(team, filters), to_lines)


@require_GET
@login_required
def audit_csv(request: HttpRequest, team_id: int) -> HttpResponse:
    """The audit trail as filtered on the page, as CSV."""
    team = _team(request, team_id)
    filters = parse_audit_filters(request.GET)
    actions.record_audit_export(request.user, team, filters.as_params())
    return _download(_audit_lines(team, filters), team, "texts-sent" if filters.texts else "audit")


# --- The opt-out history -------------------------------------------------------------------


@require_GET
@login_required
def opt_out_history(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team(request, team_id)
    filters = parse_opt_out_filters(request.GET)
    page = Paginator(consent_changes(team, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "team": team,
        "page": page,
        "rows": [(change, changed_by(change)) for change in page.object_list],
        "filters": filters,
        "query": _query(request),
        "causes": ConsentChange.Cause.choices,
    }
    return render(request, "compliance/opt_outs.html", context)


def _opt_out_lines(team: Team, filters: OptOutFilters) -> AsyncIterator[str]:
    zone = team_zone(team)

    def to_lines(chunk: list[ConsentChange]) -> str:
        return "".join(csv_line(opt_out_csv_values(team, change, zone)) for change in chunk)

    return _lines(OPT_OUT_COLUMNS, consent_changes(team, filters), to_lines)


@require_GET
@login_required
def opt_out_history_csv(request: HttpRequest, team_id: int) -> HttpResponse:
    """The opt-out history as filtered on the page, as CSV."""
    team = _team(request, team_id)
    filters = parse_opt_out_filters(request.GET)
    actions.record_opt_out_export(request.user, team, filters.as_params())
    return _download(_opt_out_lines(team, filters), team, "opt-outs")
