"""Dynamic segments: conditions on contacts, stored as JSON, compiled to one SQL query.

A definition is ``{"match": "all" | "any", "conditions": [...]}`` where each condition is
``{"field": ..., "op": ..., "value": ...}`` or a nested ``{"match": ..., "conditions": [...]}``.
The same definition always compiles to the same query, so a segment counts the same contacts
in the compose step and at send time (give or take contacts who changed in between).

Fields: ``first_name``, ``last_name``, ``phone``, ``custom:<key>`` (text); ``tag``; ``owner``;
``consent``; ``created_at`` and ``last_texted_at`` (dates); ``replied`` (texted us); ``send``
(got, replied to, or got and did not reply to one of the team's sends: its id).
"""

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from textdesk.accounts.models import Team
from textdesk.contacts.models import Contact, ContactField, Segment, Tag
from textdesk.core import clock

TEXT_OPS = {
    "equals": "is",
    "not_equals": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "is_set": "is filled in",
    "is_not_set": "is empty",
}
DATE_OPS = {
    "before": "before",
    "after": "on or after",
    "within_days": "in the last N days",
    "is_not_set": "never",
}
OPS = {
    "text": TEXT_OPS,
    "tag": {"has": "has", "has_not": "does not have"},
    "owner": {"is": "is", "is_none": "is nobody"},
    "consent": {"is": "is"},
    "date": DATE_OPS,
    "replied": {"within_days": "in the last N days", "since": "since", "never": "never"},
    "send": {"replied": "replied to", "not_replied": "got but did not reply to", "got": "got"},
    "event": {
        "confirmed": "confirmed for",
        "invited": "has not answered",
        "declined": "declined",
        "waitlisted": "is waitlisted for",
        "offered": "was offered a place at",
        "any": "was invited to",
    },
}
BUILT_IN = {
    "first_name": ("First name", "text"),
    "last_name": ("Last name", "text"),
    "phone": ("Phone number", "text"),
    "tag": ("Tag", "tag"),
    "owner": ("Owner", "owner"),
    "consent": ("Consent", "consent"),
    "created_at": ("Added", "date"),
    "last_texted_at": ("Last texted", "date"),
    "replied": ("Texted us", "replied"),
    "send": ("A send", "send"),
    "event": ("An event", "event"),
}
MAX_CONDITIONS = 50
MAX_DEPTH = 3


class SegmentError(ValueError):
    """A definition that cannot be used, said in words a user understands."""


def fields_for(team: Team) -> dict[str, tuple[str, str]]:
    """Every field a condition may use in ``team``: {name: (label, type)}."""
    fields = dict(BUILT_IN)
    for field in ContactField.objects.filter(team=team):
        fields[f"custom:{field.key}"] = (field.label, "text")
    return fields


def compile_definition(team: Team, definition: Any) -> Q:
    """The definition as a filter on the team's contacts; SegmentError when it is not valid."""
    fields = fields_for(team)
    counter = [0]
    return _compile_group(team, definition, fields, counter, depth=1)


def _compile_group(team, group, fields, counter, depth: int) -> Q:
    if not isinstance(group, dict):
        raise SegmentError("A group of conditions must be an object.")
    if depth > MAX_DEPTH:
        raise SegmentError(f"Groups may be nested at most {MAX_DEPTH} deep.")
    match = group.get("match", "all")
    if match not in ("all", "any"):
        raise SegmentError("Choose whether all or any of the conditions must hold.")
    conditions = group.get("conditions")
    if not isinstance(conditions, list):
        raise SegmentError("A group needs a list of conditions.")
    combined = Q()
    for condition in conditions:
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise SegmentError(f"A segment may have at most {MAX_CONDITIONS} conditions.")
        if isinstance(condition, dict) and "conditions" in condition:
            q = _compile_group(team, condition, fields, counter, depth + 1)
        else:
            q = _compile_condition(team, condition, fields)
        combined = combined & q if match == "all" else combined | q
    if not conditions and match == "any":
        return Q(pk__in=[])  # "any of nothing" is nobody
    return combined


def _compile_condition(team: Team, condition: Any, fields: dict) -> Q:
    if not isinstance(condition, dict):
        raise SegmentError("A condition must be an object.")
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    if field not in fields:
        raise SegmentError(f"There is no field {field!r}.")
    label, kind = fields[field]
    if op not in OPS[kind]:
        raise SegmentError(f"{label} cannot be compared with {op!r}.")
    if kind == "text":
        return _text(field, op, value, label)
    if kind == "tag":
        tagged = Tag.contacts.through.objects.filter(
            contact_id=OuterRef("pk"),
            tag__team=team,
            tag__name__iexact=_required_text(value, label),
        )
        return Q(Exists(tagged)) if op == "has" else ~Q(Exists(tagged))
    if kind == "owner":
        if op == "is_none":
            return Q(owner__isnull=True)
        try:
            return Q(owner_id=int(value))
        except (TypeError, ValueError):
            raise SegmentError("Choose an owner.") from None
    if kind == "consent":
        if value not in Contact.Consent.values:
            raise SegmentError("Choose a consent state.")
        return Q(consent=value)
    if kind == "date":
        return _date(team, field, op, value, label)
    if kind == "send":
        return _send(team, op, value)
    if kind == "event":
        return _event(team, op, value)
    return _replied(team, op, value)


def _required_text(value: Any, label: str) -> str:
    if not isinstance(value, str | int | float) or str(value).strip() == "":
        raise SegmentError(f"{label}: enter a value.")
    text = str(value).strip()
    if len(text) > 200:
        raise SegmentError(f"{label}: the value is too long.")
    return text


def _text(field: str, op: str, value: Any, label: str) -> Q:
    if field.startswith("custom:"):
        key = field.removeprefix("custom:")
        column = f"fields__{key}"
        present = Q(fields__has_key=key) & ~Q(**{column: ""}) & ~Q(**{f"{column}__isnull": True})
    else:
        column = field
        present = ~Q(**{column: ""})
    if op == "is_set":
        return present
    if op == "is_not_set":
        return ~present
    text = _required_text(value, label)
    if field == "phone":
        text = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    lookup = {"equals": "iexact", "not_equals": "iexact", "contains": "icontains"}.get(
        op, "istartswith"
    )
    q = Q(**{f"{column}__{lookup}": text})
    if op == "not_equals":
        # A contact without the field is "not equal" too (SQL alone would leave them out).
        return ~q | ~present
    return q


def _day_start(team: Team, value: Any, label: str) -> datetime:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise SegmentError(f"{label}: enter a date as YYYY-MM-DD.") from None
    return datetime.combine(day, time.min, tzinfo=zoneinfo.ZoneInfo(team.time_zone))


def _days(value: Any, label: str) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise SegmentError(f"{label}: enter a number of days.") from None
    if not 0 < days <= 3650:
        raise SegmentError(f"{label}: the number of days must be between 1 and 3650.")
    return days


def _date(team: Team, field: str, op: str, value: Any, label: str) -> Q:
    if op == "is_not_set":
        return Q(**{f"{field}__isnull": True})
    if op == "within_days":
        return Q(**{f"{field}__gte": clock.now() - timedelta(days=_days(value, label))})
    start = _day_start(team, value, label)
    return Q(**{f"{field}__lt" if op == "before" else f"{field}__gte": start})


def _replied(team: Team, op: str, value: Any) -> Q:
    from textdesk.conversations.models import Message

    texts = Message.objects.filter(
        conversation__contact_id=OuterRef("pk"), direction=Message.Direction.INBOUND
    )
    if op == "never":
        return ~Q(Exists(texts))
    if op == "within_days":
        since = clock.now() - timedelta(days=_days(value, "Texted us"))
    else:
        since = _day_start(team, value, "Texted us")
    return Q(Exists(texts.filter(created_at__gte=since)))


def _teams_own(model, team: Team, value: Any, what: str) -> int:
    """The id of the team's send or event a condition names, or a SegmentError."""
    article = "an" if what[0] in "aeiou" else "a"
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise SegmentError(f"Choose {article} {what}.") from None
    if not model.objects.filter(pk=pk, team=team).exists():
        raise SegmentError(f"Choose {article} {what} of this team.")
    return pk


def _send(team: Team, op: str, value: Any) -> Q:
    """Who got one of the team's sends (it was handed over to the provider), and whether
    they answered it: a text in within a week of it counts as a reply to it."""
    from textdesk.campaigns.models import Send
    from textdesk.conversations.models import Message

    send_id = _teams_own(Send, team, value, "send")
    theirs = Message.objects.filter(conversation__contact_id=OuterRef("pk"), send_id=send_id)
    got = Q(Exists(theirs.filter(direction=Message.Direction.OUTBOUND, sent_at__isnull=False)))
    replied = Q(Exists(theirs.filter(direction=Message.Direction.INBOUND)))
    if op == "got":
        return got
    return replied if op == "replied" else got & ~replied


def _event(team: Team, op: str, value: Any) -> Q:
    """Who holds an invitation to one of the team's events, with a given answer (as it stands
    when the segment is used: a reminder scheduled for tomorrow reaches who confirmed by then)."""
    from textdesk.events.models import Event, Invitation

    event_id = _teams_own(Event, team, value, "event")
    invitations = Invitation.objects.filter(contact_id=OuterRef("pk"), event_id=event_id)
    if op != "any":
        invitations = invitations.filter(status=op)
    return Q(Exists(invitations))


def contacts_in(segment: Segment) -> QuerySet[Contact]:
    """The segment's contacts now: the list of a static segment, or who matches a dynamic one."""
    contacts = Contact.objects.filter(team_id=segment.team_id)
    if segment.kind == Segment.Kind.STATIC:
        members = Segment.members.through.objects.filter(segment=segment, contact=OuterRef("pk"))
        return contacts.filter(Exists(members))
    return contacts.filter(compile_definition(segment.team, segment.definition))


def describe(team: Team, definition: dict) -> str:
    """A definition in words, for lists and confirmations."""
    fields = fields_for(team)

    def words(group: dict) -> str:
        joiner = " and " if group.get("match", "all") == "all" else " or "
        parts = []
        for condition in group.get("conditions", []):
            if "conditions" in condition:
                parts.append(f"({words(condition)})")
                continue
            label, kind = fields.get(condition.get("field"), (condition.get("field"), "text"))
            op = OPS.get(kind, {}).get(condition.get("op"), condition.get("op"))
            value = condition.get("value")
            if kind == "send":
                parts.append(f"{op} the send {_send_name(team, value)}")
                continue
            if kind == "event":
                parts.append(f"{op} the event {_event_name(team, value)}")
                continue
            parts.append(f"{label} {op}" + (f" {value}" if value not in (None, "") else ""))
        return joiner.join(parts) or "everyone"

    return words(definition)


def _send_name(team: Team, value: Any) -> str:
    from textdesk.campaigns.models import Send

    return _name_of(Send, team, value)


def _event_name(team: Team, value: Any) -> str:
    from textdesk.events.models import Event

    return _name_of(Event, team, value)


def _name_of(model, team: Team, value: Any) -> str:
    """The quoted name of the team's send or event a condition points at."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return "(none chosen)"
    name = model.objects.filter(team=team, pk=pk).values_list("name", flat=True).first()
    return f"“{name}”" if name is not None else "(deleted)"
