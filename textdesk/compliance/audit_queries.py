"""Reads for the audit trail and the opt-out history: filters, rows and CSV lines.

The audit trail lists a team's ``AuditEvent`` rows. Texts people send are not audit events:
the ``Message`` row itself records who sent what to whom, so the trail reads them from there
when the "Texts sent by people" filter is chosen (``SENT``), with the same person, inbox, date
and text filters and the same columns. The two are deliberately not merged into one list:
interleaving two large tables by time would need a UNION sorted across both on every page,
while each alone is one query. Bulk sends appear as their ``send.*`` events (with the number of
recipients); each send's report lists its recipients, so their texts are left out here, as are
automatic answers (STOP confirmations), which nobody sent.

Times are shown and filtered in the team's time zone: "from Mar 9" means from midnight there.
"""

import csv
import io
import json
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from textdesk.accounts.models import Team, User
from textdesk.compliance.models import AuditEvent, ConsentChange
from textdesk.contacts.export import safe_cell
from textdesk.contacts.models import Contact
from textdesk.conversations.models import Conversation, Message
from textdesk.inboxes.models import Inbox

SENT = "message.sent"

# The actions the filter offers, by area: (area, the option for all of it, its actions). An
# area's value ("lock.*", "*.exported") matches every action of the area, including ones added
# after this list was written.
ACTION_GROUPS: list[tuple[str, tuple[str, str], list[tuple[str, str]]]] = [
    (
        "Conversations",
        ("lock.*", "Any conversation opened, left or taken over"),
        [
            ("lock.acquired", "Opened a conversation"),
            ("lock.released", "Left a conversation"),
            ("lock.taken_over", "Took over a conversation"),
        ],
    ),
    (
        "Consent",
        ("consent.*", "Any consent change"),
        [
            ("consent.opted_out", "Opted out"),
            ("consent.opted_in", "Opted back in"),
            ("consent.not_a_revocation", "Marked a text as not an opt-out"),
        ],
    ),
    (
        "Sends",
        ("send.*", "Anything done to a send"),
        [
            ("send.created", "Created a send"),
            ("send.paused", "Paused a send"),
            ("send.resumed", "Resumed a send"),
            ("send.cancelled", "Cancelled a send"),
            ("send.rescheduled", "Rescheduled a send"),
        ],
    ),
    (
        "Exports",
        ("*.exported", "Any export"),
        [
            ("contacts.exported", "Exported contacts"),
            ("contact.exported", "Exported a contact's data"),
            ("send.exported", "Exported a send's recipients"),
            ("audit.exported", "Exported the audit trail"),
            ("opt_outs.exported", "Exported the opt-out history"),
            ("event.exported", "Exported an event's invitations"),
        ],
    ),
    (
        "Events",
        ("event.*", "Anything done to an event"),
        [
            ("event.saved", "Saved an event"),
            ("event.answer_changed", "Changed someone's answer to an event"),
            ("event.exported", "Exported an event's invitations"),
        ],
    ),
    (
        "Contacts",
        ("contact*", "Anything done to contacts"),
        [
            ("contact.updated", "Edited a contact"),
            ("contact.erased", "Erased a contact"),
        ],
    ),
    (
        "Retention",
        ("messages.*", "Old texts emptied"),
        [("messages.retention_applied", "Emptied texts past the retention period")],
    ),
    (
        "Segments",
        ("segment.*", "Any segment change"),
        [
            ("segment.saved", "Saved a segment"),
            ("segment.deleted", "Deleted a segment"),
        ],
    ),
    (
        "Templates",
        ("template.*", "Any template change"),
        [
            ("template.saved", "Saved a template"),
            ("template.deleted", "Deleted a template"),
        ],
    ),
    (
        "Settings",
        ("settings.*", "Any setting change"),
        [
            ("settings.team_compliance", "Changed keyword answers or notifications"),
            ("settings.inbox", "Changed an inbox's settings"),
        ],
    ),
]
ACTION_LABELS = {
    SENT: "Sent a text",
    **{action: label for _, _, actions in ACTION_GROUPS for action, label in actions},
}
GROUPS = {value: label for _, (value, label), _ in ACTION_GROUPS}
# Anything that looks like an action name may be asked for (e.g. a link from another page).
ACTION_NAME = re.compile(r"^[a-z_]+\.[a-z_]+$")
# Who made a consent change nobody at the team made.
BY_DEFAULT = {
    ConsentChange.Cause.KEYWORD: "The contact (by text)",
    ConsentChange.Cause.PROVIDER: "The carrier",
}
# Shown in their own columns, so left out of the details.
SHOWN_KEYS = {"contact_id"}
# Data keys that hold a user's id: shown as the person's name.
USER_KEYS = {"previous_holder"}


def label_of(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def team_zone(team: Team) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(team.time_zone)


# --- Filters -------------------------------------------------------------------------------


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdecimal() and len(value) < 19 else None


def _day(value: str | None, label: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"{label}: enter a date as YYYY-MM-DD; it was left out.")
        return None


def _text(value: str | None) -> str:
    return " ".join((value or "").replace("\x00", "").split())[:200]


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: int | None = None
    inbox: int | None = None
    since: date | None = None
    until: date | None = None
    text: str = ""
    errors: tuple[str, ...] = field(default=(), compare=False)

    @property
    def texts(self) -> bool:
        """The "Texts sent by people" view: messages, not audit events."""
        return self.action == SENT

    def as_params(self) -> dict[str, str]:
        """The filters in use, as the page's query parameters (for the export's audit record)."""
        values = {
            "action": self.action,
            "actor": self.actor,
            "inbox": self.inbox,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            "q": self.text,
        }
        return {key: str(value) for key, value in values.items() if value}


def parse_audit_filters(params: Mapping[str, str]) -> AuditFilters:
    errors: list[str] = []
    action = params.get("action", "").strip()
    if not (action in GROUPS or action == SENT or ACTION_NAME.match(action)):
        action = ""
    return AuditFilters(
        action=action,
        actor=_id(params.get("actor")),
        inbox=_id(params.get("inbox")),
        since=_day(params.get("from"), "From", errors),
        until=_day(params.get("to"), "To", errors),
        text=_text(params.get("q")),
        errors=tuple(errors),
    )


@dataclass(frozen=True)
class OptOutFilters:
    cause: str = ""
    status: str = ""  # "out", "in" or "" for both
    since: date | None = None
    until: date | None = None
    errors: tuple[str, ...] = field(default=(), compare=False)

    def as_params(self) -> dict[str, str]:
        values = {
            "cause": self.cause,
            "status": self.status,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


def parse_opt_out_filters(params: Mapping[str, str]) -> OptOutFilters:
    errors: list[str] = []
    cause = params.get("cause", "")
    status = params.get("status", "")
    return OptOutFilters(
        cause=cause if cause in ConsentChange.Cause.values else "",
        status=status if status in ("out", "in") else "",
        since=_day(params.get("from"), "From", errors),
        until=_day(params.get("to"), "To", errors),
        errors=tuple(errors),
    )


def _between(team: Team, since: date | None, until: date | None) -> Q:
    """Days in the team's zone, both included, as a condition on ``created_at``."""
    zone = team_zone(team)
    condition = Q()
    if since:
        condition &= Q(created_at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
        condition &= Q(created_at__lt=end)
    return condition


# --- The audit trail -----------------------------------------------------------------------


def _action(action: str) -> Q:
    if action.endswith("*"):
        return Q(action__startswith=action[:-1])
    if action.startswith("*"):
        return Q(action__endswith=action[1:])
    return Q(action=action)


def audit_events(team: Team, filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(team_id=team.pk).select_related("actor")
    if filters.action:
        events = events.filter(_action(filters.action))
    if filters.actor:
        events = events.filter(actor_id=filters.actor)
    if filters.inbox:
        events = events.filter(inbox_id=filters.inbox)
    if filters.text:
        # The JSON as text: finds a keyword, a reason, a changed setting's new wording.
        events = events.filter(data__icontains=filters.text)
    events = events.filter(_between(team, filters.since, filters.until))
    return events.order_by("-created_at", "-id")


def sent_texts(team: Team, filters: AuditFilters) -> QuerySet[Message]:
    """Texts people of the team sent by hand (replies and new conversations)."""
    texts = Message.objects.filter(
        conversation__inbox__team=team,
        direction=Message.Direction.OUTBOUND,
        sent_by__isnull=False,
        send__isnull=True,
    ).select_related("sent_by", "conversation__contact", "conversation__inbox")
    if filters.actor:
        texts = texts.filter(sent_by_id=filters.actor)
    if filters.inbox:
        texts = texts.filter(conversation__inbox_id=filters.inbox)
    if filters.text:
        texts = texts.filter(body__icontains=filters.text)
    texts = texts.filter(_between(team, filters.since, filters.until))
    return texts.order_by("-created_at", "-id")


def audit_entries(team: Team, filters: AuditFilters) -> QuerySet:
    return sent_texts(team, filters) if filters.texts else audit_events(team, filters)


@dataclass
class AuditRow:
    at: datetime
    actor: str
    action: str
    label: str
    inbox: str
    contact: Contact | None
    details: str

    @property
    def contact_name(self) -> str:
        return self.contact.full_name if self.contact else ""

    @property
    def phone(self) -> str:
        return self.contact.phone if self.contact else ""


def _change(value: object) -> str | None:
    """A setting's change ({"from": ..., "to": ...}) as "old → new"."""
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{json.dumps(value['from'], ensure_ascii=False)} → " + json.dumps(
            value["to"], ensure_ascii=False
        )
    return None


def _words(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict) and all(_change(v) for v in value.values()):
        return ", ".join(f"{k.replace('_', ' ')} {_change(v)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def describe(data: dict, users: Mapping[int, str] | None = None) -> str:
    """An event's data in words: ``key: value`` pairs; a user's id as their name (``users``),
    a list as its items, a setting's change as "old → new", anything else as JSON."""
    parts = []
    for key, value in data.items():
        if key in SHOWN_KEYS or value in ("", None, [], {}):
            continue
        if key in USER_KEYS and users and isinstance(value, int) and value in users:
            value = users[value]
        parts.append(f"{key.replace('_', ' ')}: {_words(value)}")
    return "; ".join(parts)


def _actor(event: AuditEvent) -> str:
    if event.actor is not None:
        return event.actor.display_name
    cause = event.data.get("cause")
    return BY_DEFAULT.get(cause, "") if isinstance(cause, str) else ""


def audit_rows(
    team: Team, entries: Iterable[AuditEvent | Message], inboxes: dict[int, str] | None = None
) -> list[AuditRow]:
    """Rows for a page (or a CSV chunk) of entries: a fixed number of queries however many.
    ``inboxes`` (the team's inbox names by id) saves a query when the caller has them.

    Contacts are looked up within the team only, so an event can never show another team's
    contact."""
    entries = list(entries)
    events = [e for e in entries if isinstance(e, AuditEvent)]
    rows = []
    contact_of: dict[int, int] = {}
    contacts: dict[int, Contact] = {}
    users: dict[int, str] = {}
    if events:
        if inboxes is None:
            inboxes = dict(Inbox.objects.filter(team=team).values_list("pk", "name"))
        conversation_ids = {e.conversation_id for e in events if e.conversation_id}
        contact_of = dict(
            Conversation.objects.filter(pk__in=conversation_ids, inbox__team=team).values_list(
                "pk", "contact_id"
            )
        )
        contact_ids = set(contact_of.values()) | {
            e.data["contact_id"] for e in events if isinstance(e.data.get("contact_id"), int)
        }
        contacts = Contact.objects.filter(team=team, pk__in=contact_ids).in_bulk()
        user_ids = {e.data[k] for e in events for k in USER_KEYS if isinstance(e.data.get(k), int)}
        if user_ids:
            users = {u.pk: u.display_name for u in User.objects.filter(pk__in=user_ids)}
    for entry in entries:
        if isinstance(entry, Message):
            conversation = entry.conversation
            rows.append(
                AuditRow(
                    at=entry.created_at,
                    actor=entry.sent_by.display_name if entry.sent_by else "",
                    action=SENT,
                    label=label_of(SENT),
                    inbox=conversation.inbox.name,
                    contact=conversation.contact,
                    details=entry.body,
                )
            )
            continue
        contact_id = contact_of.get(entry.conversation_id) or entry.data.get("contact_id")
        rows.append(
            AuditRow(
                at=entry.created_at,
                actor=_actor(entry),
                action=entry.action,
                label=label_of(entry.action),
                inbox=inboxes.get(entry.inbox_id, "") if inboxes and entry.inbox_id else "",
                contact=contacts.get(contact_id) if isinstance(contact_id, int) else None,
                details=describe(entry.data, users),
            )
        )
    return rows


# --- The opt-out history -------------------------------------------------------------------


def consent_changes(team: Team, filters: OptOutFilters) -> QuerySet[ConsentChange]:
    """The team's consent changes, and personal-inbox ones of its contacts (by its inboxes
    once a contact is gone)."""
    personal = Q(scope=ConsentChange.Scope.PERSONAL) & (
        Q(contact__team=team) | Q(contact__isnull=True, inbox__team=team)
    )
    changes = ConsentChange.objects.filter(
        Q(team=team, scope=ConsentChange.Scope.TEAM) | personal
    ).select_related("contact", "actor")
    if filters.cause:
        changes = changes.filter(cause=filters.cause)
    if filters.status:
        changes = changes.filter(opted_out=filters.status == "out")
    changes = changes.filter(_between(team, filters.since, filters.until))
    return changes.order_by("-created_at", "-id")


def changed_by(change: ConsentChange) -> str:
    if change.actor is not None:
        return change.actor.display_name
    return BY_DEFAULT.get(change.cause, "")


# --- CSV -----------------------------------------------------------------------------------

AUDIT_COLUMNS = ["time", "person", "action", "what", "inbox", "contact", "phone", "details"]
OPT_OUT_COLUMNS = [
    "time",
    "contact",
    "phone",
    "team",
    "status",
    "scope",
    "cause",
    "detail",
    "by",
]
Entry = AuditEvent | Message | ConsentChange
E164 = re.compile(r"^\+\d{1,15}$")


def csv_line(values: Iterable[str]) -> str:
    """One CSV line; every cell a spreadsheet could run as a formula is made plain text."""
    buffer = io.StringIO()
    # An E.164 number (+ and digits) is no formula, and stays importable as it is.
    csv.writer(buffer).writerow(v if E164.match(v) else safe_cell(v) for v in values)
    return buffer.getvalue()


def audit_csv_values(row: AuditRow, zone: zoneinfo.ZoneInfo) -> list[str]:
    return [
        row.at.astimezone(zone).isoformat(),
        row.actor,
        row.action,
        row.label,
        row.inbox,
        row.contact_name,
        row.phone,
        row.details,
    ]


def opt_out_csv_values(team: Team, change: ConsentChange, zone: zoneinfo.ZoneInfo) -> list[str]:
    return [
        change.created_at.astimezone(zone).isoformat(),
        change.contact.full_name if change.contact else "",
        change.phone,
        team.name,
        "opted out" if change.opted_out else "opted in",
        change.get_scope_display(),
        change.get_cause_display(),
        change.detail,
        changed_by(change),
    ]


def next_chunk(entries: QuerySet, last: Entry | None, size: int) -> list[Entry]:
    """The ``size`` entries after ``last`` in newest-first order: the next chunk of an export,
    found by the (created_at, id) it stopped at instead of an ever larger OFFSET."""
    if last is not None:
        entries = entries.filter(
            Q(created_at__lt=last.created_at) | Q(created_at=last.created_at, pk__lt=last.pk)
        )
    return list(entries[:size])
