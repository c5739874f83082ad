"""CSV export of any list of contacts: streamed in chunks, so 100,000 contacts never sit in
memory at once and the download starts at once."""

import csv
import io
from collections.abc import AsyncIterator, Iterable

from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.text import slugify

from textdesk.accounts.models import Team
from textdesk.contacts.models import Contact, ContactField

CHUNK = 2000
COLUMNS = [
    "phone",
    "first_name",
    "last_name",
    "consent",
    "owner",
    "tags",
    "time_zone",
    "created_at",
    "last_texted_at",
]


def _line(values: Iterable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def safe_cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: export them as text."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def _chunk(contacts: QuerySet[Contact], after_id: int) -> list[Contact]:
    return list(
        contacts.filter(pk__gt=after_id)
        .order_by("pk")
        .select_related("owner")
        .prefetch_related("tags")[:CHUNK]
    )


async def contact_rows(team: Team, contacts: QuerySet[Contact]) -> AsyncIterator[str]:
    keys = await sync_to_async(list)(
        ContactField.objects.filter(team=team).values_list("key", flat=True)
    )
    yield _line(COLUMNS + keys)
    after = 0
    while chunk := await sync_to_async(_chunk)(contacts, after):
        lines = []
        for contact in chunk:
            values = [
                contact.phone,
                contact.first_name,
                contact.last_name,
                contact.consent,
                contact.owner.username if contact.owner else "",
                ", ".join(sorted(tag.name for tag in contact.tags.all())),
                contact.time_zone,
                contact.created_at.isoformat(),
                contact.last_texted_at.isoformat() if contact.last_texted_at else "",
            ] + [str((contact.fields or {}).get(key, "")) for key in keys]
            # The number is E.164 (digits after a +): safe as it is, and importable again.
            lines.append(_line([values[0], *(safe_cell(str(v)) for v in values[1:])]))
        yield "".join(lines)
        after = chunk[-1].pk


def csv_download(team: Team, contacts: QuerySet[Contact], name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        contact_rows(team, contacts), content_type="text/csv; charset=utf-8"
    )
    filename = f"{slugify(name) or 'contacts'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
