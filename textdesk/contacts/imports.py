"""CSV imports: upload, map columns, then import in the background in checkpointed batches.

Files come from Slate, Salesforce and spreadsheets: UTF-8 with or without a BOM, Excel-style
quoting, commas or semicolons, blank lines, numbers typed every way. Every row either lands
(created or updated, by number) or is rejected with a reason the report spells out.

Each batch is one transaction that also moves the checkpoint (``rows_done``): a crash, a kill
or an error loses nothing and repeats nothing; the import resumes from its checkpoint.
"""

import csv
import io
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from textdesk.accounts.models import Team, User
from textdesk.compliance.consent import keep_earlier_opt_outs
from textdesk.compliance.models import ConsentChange
from textdesk.contacts.models import (
    BUILT_IN_FIELDS,
    FIELD_KEY,
    Contact,
    ContactField,
    ContactImport,
    ImportRejection,
    Tag,
)
from textdesk.core.zones import known_zones
from textdesk.live.events import publish
from textdesk.phones import InvalidPhoneNumber, textable_e164

MAX_FILE_BYTES = 50 * 1024 * 1024
BATCH_SIZE = 2000
SLICE_SECONDS = 1.0  # one worker round imports for about this long, then sends texts again
CLAIM_SECONDS = 120
PREVIEW_ROWS = 5
MAX_VALUE_LENGTH = 1000
MAX_NAME_LENGTH = 100
MAX_TAG_LENGTH = 50

YES = {"yes", "y", "true", "t", "1", "x", "opted out", "optedout", "opted_out"}
NO = {"no", "n", "false", "f", "0", ""}

# What a column can hold. Custom fields are "custom:<key>" (existing) or "new:<key>" (created).
TARGETS = {
    "ignore": "Do not import",
    "phone": "Phone number",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split at the last space)",
    "tags": "Tags (separated by , or ;)",
    "owner": "Owner (username or email)",
    "opted_out": "Opted out (yes/no)",
    "time_zone": "Time zone (e.g. America/Chicago)",
}
SINGLE_TARGETS = set(TARGETS) - {"ignore", "tags"}

GUESSES = [
    (
        re.compile(r"^(mobile|cell|phone|sms|text)?[ _-]*(phone|number|no\.?|#|mobile|cell)$"),
        "phone",
    ),
    (re.compile(r"^(first|given|preferred)[ _-]*(name)?$"), "first_name"),
    (re.compile(r"^(last|family|sur)[ _-]*(name)?$"), "last_name"),
    (re.compile(r"^(full[ _-]*)?name$"), "full_name"),
    (re.compile(r"^tags?$"), "tags"),
    (re.compile(r"^(owner|counselor|counsellor|assigned[ _-]*to)$"), "owner"),
    (
        re.compile(r"^(opted[ _-]*out|opt[ _-]*out|unsubscribed|do[ _-]*not[ _-]*text|stop)$"),
        "opted_out",
    ),
    (re.compile(r"^(time[ _-]*zone|tz)$"), "time_zone"),
]


class ImportRefused(ValueError):
    """An upload or a mapping that cannot be used, said plainly."""


def imports_root() -> Path:
    root = Path(settings.IMPORTS_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _open_rows(stored_name: str, delimiter: str):
    """The file's rows, decoded as UTF-8 (a BOM is dropped)."""
    handle = open(imports_root() / stored_name, encoding="utf-8-sig", newline="")  # noqa: SIM115
    return handle, csv.reader(handle, delimiter=delimiter)


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        return ";" if first_line.count(";") > first_line.count(",") else ","


def field_key(header: str) -> str:
    """A custom field key made from a column header: "Student ID" -> "student_id"."""
    key = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    if not key or not key[0].isalpha():
        key = f"field_{key}" if key else "field"
    return key[:40]


def guess_target(header: str, team_keys: set[str]) -> str:
    name = header.strip().lower()
    for pattern, target in GUESSES:
        if pattern.match(name):
            return target
    key = field_key(header)
    if key in team_keys:
        return f"custom:{key}"
    return f"new:{key}" if name else "ignore"


def start_import(team: Team, user: User, uploaded) -> ContactImport:
    """Store an uploaded CSV and read its header; nothing is imported until it is mapped."""
    if uploaded.size > MAX_FILE_BYTES:
        raise ImportRefused(f"That file is over {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    raw = uploaded.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            "That file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (Comma delimited)”."
        ) from None
    if "\x00" in text:
        raise ImportRefused("That file is not a CSV file.")
    delimiter = _sniff_delimiter(text[:20_000])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = (row for row in reader if any(cell.strip() for cell in row))
    header = next(rows, None)
    if not header or not any(cell.strip() for cell in header):
        raise ImportRefused("That file is empty, or its first line (the column names) is blank.")
    total = sum(1 for _ in rows)
    if total == 0:
        raise ImportRefused("That file has column names but no rows.")
    stored_name = f"{secrets.token_hex(16)}.csv"
    (imports_root() / stored_name).write_bytes(raw)
    team_keys = set(ContactField.objects.filter(team=team).values_list("key", flat=True))
    return ContactImport.objects.create(
        team=team,
        created_by=user,
        filename=Path(uploaded.name or "contacts.csv").name[:255],
        stored_name=stored_name,
        delimiter=delimiter,
        header=[cell.strip() for cell in header],
        mapping={str(i): guess_target(name, team_keys) for i, name in enumerate(header)},
        default_region=settings.TEXTDESK_DEFAULT_REGION,
        total_rows=total,
    )


def preview_rows(contact_import: ContactImport, count: int = PREVIEW_ROWS) -> list[list[str]]:
    handle, reader = _open_rows(contact_import.stored_name, contact_import.delimiter)
    with handle:
        return [values for _, values in itertools.islice(_data_rows(reader), count)]


@transaction.atomic
def set_mapping(contact_import: ContactImport, mapping: dict[str, str], region: str) -> None:
    """Check what each column holds, create the new custom fields, and queue the import."""
    if contact_import.status != ContactImport.Status.UPLOADED:
        raise ImportRefused("This import has already started.")
    region = region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ImportRefused(f"{region!r} is not a country code (e.g. US, CA, GB).")
    columns = range(len(contact_import.header))
    team = contact_import.team
    existing = set(ContactField.objects.filter(team=team).values_list("key", flat=True))
    used: set[str] = set()
    clean: dict[str, str] = {}
    for index in columns:
        target = mapping.get(str(index), "ignore")
        if target.startswith("new:"):
            key = target.removeprefix("new:")
            if not FIELD_KEY.fullmatch(key) or key in BUILT_IN_FIELDS:
                raise ImportRefused(
                    f"{key!r} cannot be a field name (lowercase letters, digits, _)."
                )
            if key in existing:
                target = f"custom:{key}"
        elif target.startswith("custom:"):
            if target.removeprefix("custom:") not in existing:
                raise ImportRefused(f"There is no custom field {target.removeprefix('custom:')!r}.")
        elif target not in TARGETS:
            raise ImportRefused(f"Unknown choice {target!r} for column {index + 1}.")
        if target != "ignore" and target != "tags" and target in used:
            raise ImportRefused(f"Two columns are mapped to {TARGETS.get(target, target)}.")
        used.add(target)
        clean[str(index)] = target
    if "phone" not in used:
        raise ImportRefused("Choose the column that holds the phone number.")
    if "full_name" in used and used & {"first_name", "last_name"}:
        raise ImportRefused("Map either a full name or first and last names, not both.")
    for index, target in clean.items():
        if target.startswith("new:"):
            key = target.removeprefix("new:")
            label = contact_import.header[int(index)] or key
            ContactField.objects.get_or_create(team=team, key=key, defaults={"label": label[:100]})
            clean[index] = f"custom:{key}"
    contact_import.mapping = clean
    contact_import.default_region = region
    contact_import.status = ContactImport.Status.QUEUED
    contact_import.save(update_fields=["mapping", "default_region", "status"])


def resume(contact_import: ContactImport) -> None:
    """Queue a stopped import again; it continues from its checkpoint."""
    ContactImport.objects.filter(pk=contact_import.pk, status=ContactImport.Status.FAILED).update(
        status=ContactImport.Status.QUEUED, error="", claimed_until=None
    )


# --- The background part ---------------------------------------------------------------------


def import_next_batch() -> int:
    """Import one batch of one queued or running import; returns the rows it handled. Called
    by the worker each round, so a big import never holds up sending texts."""
    now = timezone.now()
    candidate = (
        ContactImport.objects.filter(
            status__in=[ContactImport.Status.QUEUED, ContactImport.Status.RUNNING]
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("created_at", "id")
        .first()
    )
    if candidate is None:
        return 0
    claimed = (
        ContactImport.objects.filter(pk=candidate.pk, claimed_until=candidate.claimed_until)
        .filter(status__in=[ContactImport.Status.QUEUED, ContactImport.Status.RUNNING])
        .update(
            status=ContactImport.Status.RUNNING,
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
        )
    )
    if not claimed:
        return 0  # another worker took it
    contact_import = ContactImport.objects.select_related("team").get(pk=candidate.pk)
    if contact_import.started_at is None:
        ContactImport.objects.filter(pk=contact_import.pk).update(started_at=now)
    try:
        handled = _run_batch(contact_import)
    except Exception as e:
        ContactImport.objects.filter(pk=contact_import.pk).update(
            status=ContactImport.Status.FAILED,
            error=f"{type(e).__name__}: {e}"[:2000],
            claimed_until=None,
        )
        _announce(contact_import)
        raise
    # The slice is over: any worker (this one, next round) may take the next one.
    ContactImport.objects.filter(pk=contact_import.pk).update(claimed_until=None)
    return handled


@dataclass
class Row:
    number: int
    values: list[str]
    phone: str = ""
    first_name: str | None = None
    last_name: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    owner_id: int | None = None
    opted_out: bool | None = None
    time_zone: str | None = None


class Rejected(Exception):
    pass


def _run_batch(contact_import: ContactImport, budget_seconds: float = SLICE_SECONDS) -> int:
    """Import batches from the checkpoint on, for about ``budget_seconds``; returns the rows
    handled. (Reading the file again from the top each slice is cheap next to importing.)"""
    started = time.monotonic()
    handled = 0
    handle, reader = _open_rows(contact_import.stored_name, contact_import.delimiter)
    with handle:
        rows = _data_rows(reader)
        for _ in range(contact_import.rows_done):
            next(rows, None)
        while True:
            batch = list(itertools.islice(rows, BATCH_SIZE))
            finished = len(batch) < BATCH_SIZE
            _import_rows(contact_import, batch, finished=finished)
            _announce(contact_import)
            handled += len(batch)
            if finished or time.monotonic() - started > budget_seconds:
                return handled or 1  # an empty last batch still did work: it finished


def _data_rows(reader):
    """(line number, values) of each row after the header; blank lines are not rows."""
    header_seen = False
    for values in reader:
        if not any(cell.strip() for cell in values):
            continue
        if not header_seen:
            header_seen = True
            continue
        yield reader.line_num, values


def _announce(contact_import: ContactImport) -> None:
    publish("import", user_id=contact_import.created_by_id, topic=f"import-{contact_import.pk}")


def _parse(contact_import: ContactImport, number: int, values: list[str], owners, zones) -> Row:
    row = Row(number=number, values=values)
    for index, target in contact_import.mapping.items():
        position = int(index)
        value = values[position].strip() if position < len(values) else ""
        if target == "ignore":
            continue
        if len(value) > MAX_VALUE_LENGTH:
            raise Rejected(f"{contact_import.header[position]} is longer than {MAX_VALUE_LENGTH}")
        if target == "phone":
            if not value:
                raise Rejected("missing phone number")
            try:
                row.phone = textable_e164(value, contact_import.default_region)
            except InvalidPhoneNumber as e:
                raise Rejected(str(e).replace("'", "")) from None
        elif target in ("first_name", "last_name"):
            if len(value) > MAX_NAME_LENGTH:
                raise Rejected(f"{TARGETS[target].lower()} is longer than {MAX_NAME_LENGTH}")
            if value:
                setattr(row, target, value)
        elif target == "full_name":
            first, _, last = value.rpartition(" ")
            first, last = (first, last) if first else (last, "")
            if len(first) > MAX_NAME_LENGTH or len(last) > MAX_NAME_LENGTH:
                raise Rejected(f"name is longer than {MAX_NAME_LENGTH}")
            if value:
                row.first_name, row.last_name = first, last
        elif target == "tags":
            for name in re.split(r"[,;]", value):
                if name.strip():
                    if len(name.strip()) > MAX_TAG_LENGTH:
                        raise Rejected(f"a tag is longer than {MAX_TAG_LENGTH}")
                    row.tags.append(name.strip())
        elif target == "owner":
            if value:
                if value.lower() not in owners:
                    raise Rejected(f"no team member {value!r} to own this contact")
                row.owner_id = owners[value.lower()]
        elif target == "opted_out":
            if value.lower() in YES:
                row.opted_out = True
            elif value.lower() in NO:
                row.opted_out = False if value else None
            else:
                raise Rejected(f"opted out must be yes or no, not {value!r}")
        elif target == "time_zone":
            if value:
                if value not in zones:
                    raise Rejected(f"{value!r} is not a time zone")
                row.time_zone = value
        elif target.startswith("custom:") and value:
            row.fields[target.removeprefix("custom:")] = value
    return row


def _team_owners(team: Team) -> dict[str, int]:
    owners = {}
    for user in User.objects.filter(memberships__team=team, is_active=True):
        owners[user.username.lower()] = user.pk
        if user.email:
            owners.setdefault(user.email.lower(), user.pk)
    return owners


def _import_rows(contact_import: ContactImport, batch, *, finished: bool) -> None:
    team = contact_import.team
    owners = _team_owners(team) if "owner" in contact_import.mapping.values() else {}
    zones = known_zones()
    parsed: list[Row] = []
    rejections: list[ImportRejection] = []
    seen: dict[str, int] = {}
    for number, values in batch:
        try:
            row = _parse(contact_import, number, values, owners, zones)
        except Rejected as e:
            rejections.append(_rejection(contact_import, number, str(e), values))
            continue
        if row.phone in seen:
            reason = f"duplicate in the file (same number as row {seen[row.phone]})"
            rejections.append(_rejection(contact_import, number, reason, values))
            continue
        seen[row.phone] = number
        parsed.append(row)

    with transaction.atomic():
        # Numbers an earlier batch of this file already brought in are duplicates too.
        earlier = dict(contact_import.contacts.filter(phone__in=seen).values_list("phone", "id"))
        rows = []
        for row in parsed:
            if row.phone in earlier:
                reason = "duplicate in the file (the number appears on an earlier row)"
                rejections.append(_rejection(contact_import, row.number, reason, row.values))
            else:
                rows.append(row)
        created, updated = _upsert(contact_import, team, rows)
        ImportRejection.objects.bulk_create(rejections, ignore_conflicts=True)
        changes = {
            "rows_done": contact_import.rows_done + len(batch),
            "created_count": contact_import.created_count + created,
            "updated_count": contact_import.updated_count + updated,
            "rejected_count": contact_import.rejected_count + len(rejections),
            "claimed_until": timezone.now() + timedelta(seconds=CLAIM_SECONDS),
        }
        if finished:
            changes |= {
                "status": ContactImport.Status.DONE,
                "finished_at": timezone.now(),
                "claimed_until": None,
            }
        # The checkpoint moves in the same transaction as the rows it counts.
        ContactImport.objects.filter(pk=contact_import.pk).update(**changes)
        for name, value in changes.items():
            setattr(contact_import, name, value)


def _rejection(contact_import, number: int, reason: str, values: list[str]) -> ImportRejection:
    return ImportRejection(
        contact_import=contact_import,
        row_number=number,
        reason=reason[:255],
        values=[value[:MAX_VALUE_LENGTH] for value in values[:100]],
    )


def _upsert(contact_import: ContactImport, team: Team, rows: list[Row]) -> tuple[int, int]:
    if not rows:
        return 0, 0
    now = timezone.now()
    existing = {
        contact.phone: contact
        for contact in Contact.objects.filter(team=team, phone__in=[row.phone for row in rows])
    }
    new_contacts, changed, opted_out = [], [], []
    for row in rows:
        contact = existing.get(row.phone)
        if contact is None:
            contact = Contact(team=team, phone=row.phone, fields={}, created_at=now)
            new_contacts.append(contact)
        else:
            changed.append(contact)
        if row.first_name is not None:
            contact.first_name = row.first_name
        if row.last_name is not None:
            contact.last_name = row.last_name
        if row.fields:
            contact.fields = {**(contact.fields or {}), **row.fields}
        if row.owner_id is not None:
            contact.owner_id = row.owner_id
        if row.time_zone is not None:
            contact.time_zone = row.time_zone
        if row.opted_out and contact.consent != Contact.Consent.OPTED_OUT:
            contact.consent = Contact.Consent.OPTED_OUT
            contact.consent_changed_at = now
            opted_out.append(contact)
        # An import never opts anyone back in: consent someone withdrew is theirs to give back.
        contact.updated_at = now
    Contact.objects.bulk_create(new_contacts, batch_size=BATCH_SIZE)
    if any(contact.pk is None for contact in new_contacts):
        # Backends that do not return ids from bulk inserts: read them back.
        ids = dict(
            Contact.objects.filter(
                team=team, phone__in=[c.phone for c in new_contacts]
            ).values_list("phone", "id")
        )
        for contact in new_contacts:
            contact.pk = contact.id = ids[contact.phone]
    keep_earlier_opt_outs([c for c in new_contacts if c.consent != Contact.Consent.OPTED_OUT])
    Contact.objects.bulk_update(
        changed,
        [
            "first_name",
            "last_name",
            "fields",
            "owner",
            "time_zone",
            "consent",
            "consent_changed_at",
            "updated_at",
        ],
        batch_size=BATCH_SIZE,
    )
    ConsentChange.objects.bulk_create(
        [
            ConsentChange(
                team=team,
                contact_id=contact.pk,
                phone=contact.phone,
                scope=ConsentChange.Scope.TEAM,
                opted_out=True,
                cause=ConsentChange.Cause.IMPORT,
                detail=f"Import of {contact_import.filename}"[:255],
                actor_id=contact_import.created_by_id,
                created_at=now,
            )
            for contact in opted_out
        ],
        batch_size=BATCH_SIZE,
    )
    by_phone = {contact.phone: contact for contact in [*new_contacts, *changed]}
    _add_tags(team, rows, by_phone)
    contact_import.contacts.through.objects.bulk_create(
        [
            contact_import.contacts.through(contactimport_id=contact_import.pk, contact_id=c.pk)
            for c in by_phone.values()
        ],
        ignore_conflicts=True,
    )
    return len(new_contacts), len(changed)


def _add_tags(team: Team, rows: list[Row], by_phone: dict[str, Contact]) -> None:
    names = {name for row in rows for name in row.tags}
    if not names:
        return
    known = {tag.name.lower(): tag for tag in Tag.objects.filter(team=team)}
    missing = {name for name in names if name.lower() not in known}
    Tag.objects.bulk_create(
        [Tag(team=team, name=name) for name in {n.lower(): n for n in missing}.values()],
        ignore_conflicts=True,
    )
    known = {tag.name.lower(): tag for tag in Tag.objects.filter(team=team)}
    through = Contact.tags.through
    through.objects.bulk_create(
        [
            through(contact_id=by_phone[row.phone].pk, tag_id=known[name.lower()].pk)
            for row in rows
            for name in row.tags
        ],
        ignore_conflicts=True,
    )
