"""Writes on contacts, each in one transaction, audited where it matters."""

from django.db import transaction

from textdesk.accounts.models import Team, User
from textdesk.compliance import audit
from textdesk.contacts.models import Contact, ContactImport, Segment, Tag
from textdesk.contacts.segments import SegmentError, compile_definition


@transaction.atomic
def update_contact(user: User, contact: Contact, data: dict) -> None:
    """Apply the contact page's form (already validated)."""
    contact.first_name = data["first_name"]
    contact.last_name = data["last_name"]
    contact.owner = data["owner"]
    contact.time_zone = data["time_zone"]
    fields = dict(contact.fields or {})
    for key, value in data.items():
        if key.startswith("custom_"):
            name = key.removeprefix("custom_")
            if value:
                fields[name] = value
            else:
                fields.pop(name, None)
    contact.fields = fields
    contact.save()
    tags = [Tag.objects.get_or_create(team=contact.team, name=name)[0] for name in data["tags"]]
    contact.tags.set(tags)
    audit.record("contact.updated", actor=user, team_id=contact.team_id, contact_id=contact.pk)


def record_export(user: User, team: Team, *, what: str, **details) -> None:
    """Exports of personal data are audited: who took which list, and when."""
    audit.record("contacts.exported", actor=user, team_id=team.pk, what=what, **details)


class SegmentRefused(ValueError):
    """A segment that cannot be saved, said plainly."""


@transaction.atomic
def save_segment(
    user: User, team: Team, *, name: str, definition: dict, segment: Segment | None = None
) -> Segment:
    """Create or change a dynamic segment; its conditions are checked by compiling them."""
    name = " ".join(name.split())
    if not name:
        raise SegmentRefused("Give the segment a name.")
    if len(name) > 100:
        raise SegmentRefused("A segment's name is at most 100 characters.")
    try:
        compile_definition(team, definition)
    except SegmentError as e:
        raise SegmentRefused(str(e)) from None
    if (
        Segment.objects.filter(team=team, name__iexact=name)
        .exclude(pk=segment.pk if segment else None)
        .exists()
    ):
        raise SegmentRefused(f"There is already a segment called {name!r}.")
    if segment is None:
        segment = Segment(team=team, kind=Segment.Kind.DYNAMIC, created_by=user)
    segment.name = name
    segment.definition = definition
    segment.save()
    audit.record("segment.saved", actor=user, team_id=team.pk, segment_id=segment.pk, name=name)
    return segment


def _unique_name(team: Team, wanted: str) -> str:
    name, n = wanted[:90], 2
    while Segment.objects.filter(team=team, name__iexact=name).exists():
        name = f"{wanted[:90]} ({n})"
        n += 1
    return name


@transaction.atomic
def list_from_import(user: User, contact_import: ContactImport) -> Segment:
    """A static list of exactly the contacts one import brought in or updated."""
    team = contact_import.team
    segment = Segment.objects.create(
        team=team,
        name=_unique_name(team, f"Import: {contact_import.filename}"),
        kind=Segment.Kind.STATIC,
        created_by=user,
    )
    through = Segment.members.through
    ids = contact_import.contacts.values_list("pk", flat=True).iterator(chunk_size=5000)
    batch = []
    for contact_id in ids:
        batch.append(through(segment_id=segment.pk, contact_id=contact_id))
        if len(batch) == 5000:
            through.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    through.objects.bulk_create(batch, ignore_conflicts=True)
    audit.record("segment.saved", actor=user, team_id=team.pk, segment_id=segment.pk)
    return segment


@transaction.atomic
def new_list(user: User, team: Team, name: str) -> Segment:
    name = " ".join(name.split())
    if not name:
        raise SegmentRefused("Give the list a name.")
    if len(name) > 100:
        raise SegmentRefused("A list's name is at most 100 characters.")
    if Segment.objects.filter(team=team, name__iexact=name).exists():
        raise SegmentRefused(f"There is already a segment called {name!r}.")
    return Segment.objects.create(team=team, name=name, kind=Segment.Kind.STATIC, created_by=user)


@transaction.atomic
def add_to_list(user: User, segment: Segment, contact_ids: list[int]) -> int:
    """Hand-pick contacts (of the segment's team only) into a static list; returns how many."""
    if segment.kind != Segment.Kind.STATIC:
        raise SegmentRefused("Contacts can only be added to a static list.")
    ids = list(
        Contact.objects.filter(team_id=segment.team_id, pk__in=contact_ids).values_list(
            "pk", flat=True
        )
    )
    through = Segment.members.through
    through.objects.bulk_create(
        [through(segment_id=segment.pk, contact_id=i) for i in ids], ignore_conflicts=True
    )
    return len(ids)


@transaction.atomic
def remove_from_list(user: User, segment: Segment, contact_ids: list[int]) -> None:
    Segment.members.through.objects.filter(segment=segment, contact_id__in=contact_ids).delete()


@transaction.atomic
def delete_segment(user: User, segment: Segment) -> None:
    audit.record("segment.deleted", actor=user, team_id=segment.team_id, name=segment.name)
    segment.delete()
