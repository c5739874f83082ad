import re
import zoneinfo
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from phonenumbers import timezone as phone_timezones

from textdesk.accounts.models import Team, validate_time_zone
from textdesk.core.zones import is_zone
from textdesk.phones import nanp_exchange, pretty

# Names that merge fields and imports use for a contact's own columns; custom fields may not
# take them.
BUILT_IN_FIELDS = ("first_name", "last_name", "full_name", "phone", "owner_name")
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def validate_field_key(key: str) -> None:
    if not FIELD_KEY.fullmatch(key):
        raise ValidationError(
            f"{key!r} is not a field name: use lowercase letters, digits and _ (e.g. student_id)."
        )
    if key in BUILT_IN_FIELDS:
        raise ValidationError(f"{key!r} is a built-in field; choose another name.")


class ContactField(models.Model):
    """A custom field a team keeps on its contacts: student id, term, program, event..."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="contact_fields")
    key = models.CharField(max_length=40, validators=[validate_field_key])
    label = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["team", "key"], name="contactfield_unique_key"),
        ]

    def __str__(self) -> str:
        return self.label


class Tag(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """Someone a team texts with, known by their number (E.164); one per team and number."""

    class Consent(models.TextChoices):
        SUBSCRIBED = "subscribed", "Subscribed"
        OPTED_OUT = "opted_out", "Opted out"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="contacts")
    phone = models.CharField(max_length=16)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    fields = models.JSONField(
        default=dict, blank=True, help_text="Custom fields: student id, term, ..."
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
        help_text="The staff member responsible for this contact (an admissions counselor, ...).",
    )
    consent = models.CharField(
        max_length=16, choices=Consent.choices, default=Consent.SUBSCRIBED, db_index=True
    )
    consent_changed_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Leave empty to use the zone of the number's area.",
    )
    last_texted_at = models.DateTimeField(
        null=True, blank=True, help_text="When we last texted them (any inbox of the team)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "phone"], name="contact_unique_team_phone"),
        ]
        indexes = [
            models.Index(fields=["team", "last_name", "first_name", "id"], name="contact_by_name"),
            models.Index(fields=["team", "-created_at", "-id"], name="contact_by_created"),
            models.Index(fields=["team", "-last_texted_at", "-id"], name="contact_by_texted"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        return self.full_name or pretty(self.phone)

    @property
    def is_opted_out(self) -> bool:
        return self.consent == self.Consent.OPTED_OUT

    @property
    def effective_time_zone(self) -> str:
        """The contact's own zone, else the one its number's area is in (when that is a single
        zone), else its team's."""
        return self.time_zone or zone_of_number(self.phone) or self.team.time_zone

    def merge_values(self) -> "MergeValues":
        """What merge fields such as {first_name} and {student_id} stand for, for this contact."""
        return MergeValues(self)


def zone_of_number(e164: str) -> str:
    """The time zone of a number's area, when phonenumbers' candidates all keep the same time
    year-round (a UK mobile: London, Jersey, Guernsey...), else ""."""
    return _zone_of_number(nanp_exchange(e164))


class MergeValues(Mapping):
    """A contact's merge values, each worked out when a template asks for it: a send renders
    100,000 of these, and formatting a phone number nobody asked for costs more than the rest."""

    def __init__(self, contact: Contact) -> None:
        self.contact = contact

    def __getitem__(self, key: str) -> str:
        contact = self.contact
        if key == "first_name":
            return contact.first_name
        if key == "last_name":
            return contact.last_name
        if key == "full_name":
            return contact.full_name
        if key == "phone":
            return pretty(contact.phone)
        if key == "owner_name":
            return contact.owner.display_name if contact.owner_id else ""
        value = (contact.fields or {})[key]
        return "" if value is None else str(value)

    def __iter__(self) -> Iterator[str]:
        yield from BUILT_IN_FIELDS
        yield from (key for key in (self.contact.fields or {}) if key not in BUILT_IN_FIELDS)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@lru_cache(maxsize=100_000)
def _zone_of_number(e164: str) -> str:
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return ""
    known = [zone for zone in zones if is_zone(zone)]
    if not known or len(known) != len(zones):
        return ""
    year = datetime.now(UTC).year
    moments = [datetime(year, 1, 15, 12, tzinfo=UTC), datetime(year, 7, 15, 12, tzinfo=UTC)]
    offsets = {
        tuple(m.astimezone(zoneinfo.ZoneInfo(z)).utcoffset() for m in moments) for z in known
    }
    return known[0] if len(offsets) == 1 else ""


class ContactImport(models.Model):
    """A CSV file of contacts on its way in: uploaded, mapped, then imported by the worker in
    batches. Each batch commits with its checkpoint (``rows_done``), so an import that stops
    for any reason can be resumed exactly where it stopped, and one that failed says why."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for you to map its columns"
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Stopped with an error"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=64, help_text="The file under IMPORTS_ROOT.")
    delimiter = models.CharField(max_length=1, default=",")
    header = models.JSONField(default=list)
    mapping = models.JSONField(
        default=dict, blank=True, help_text="Column index -> what it holds (see imports.py)."
    )
    default_region = models.CharField(max_length=2, default="US")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="imports")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent_done(self) -> int:
        return 100 if not self.total_rows else min(100, self.rows_done * 100 // self.total_rows)


class ImportRejection(models.Model):
    """A row an import could not take, and why (downloadable as a report)."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="rejections"
    )
    row_number = models.PositiveIntegerField(help_text="As a spreadsheet counts: header is 1.")
    reason = models.CharField(max_length=255)
    values = models.JSONField(default=list)

    class Meta:
        ordering = ["row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact_import", "row_number"], name="rejection_unique_row"
            ),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class Segment(models.Model):
    """A saved audience. *Dynamic*: conditions on contacts' fields, evaluated whenever it is
    used (see segments.py). *Static*: a fixed list (the rows of an import, or hand-picked)."""

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Dynamic (conditions)"
        STATIC = "static", "Static list"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    definition = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(Contact, blank=True, related_name="static_segments")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="segment_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
