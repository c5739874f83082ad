"""Turning a send's audience into queued messages, in batches, while earlier ones go out.

The audience (segments, minus excluded segments) is walked in contact-id order. Each batch is
one transaction that writes the messages (and conversations), the exclusions, and how far the
walk got: a crash between batches loses nothing and writes nothing twice. The first batch is
small, so the first text reaches the provider within about a second of Send, whatever the
audience's size.
"""

import logging
import zoneinfo
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import islice

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from textdesk.accounts.models import User
from textdesk.campaigns.merge import render
from textdesk.campaigns.models import Send, SendExclusion
from textdesk.compliance.consent import personal_opt_outs
from textdesk.contacts.models import Contact, Segment, zone_of_number
from textdesk.contacts.segments import compile_definition
from textdesk.conversations.models import MAX_BODY_LENGTH, Conversation, Message
from textdesk.core.bulk import insert_many
from textdesk.events.models import Invitation
from textdesk.messaging.encoding import sms_size
from textdesk.messaging.status import MessageStatus
from textdesk.messaging.windows import next_opening
from textdesk.phones import why_not_textable

logger = logging.getLogger(__name__)

FIRST_BATCH = 200
BATCH = 2000
CLAIM_SECONDS = 60
PREVIEW_LENGTH = 160


def audience(send: Send) -> QuerySet[Contact]:
    """The send's contacts: in any of its segments and none of its excluded ones."""
    return audience_of(send.team, list(send.segments.all()), list(send.excluded_segments.all()))


def _segment_q(segment: Segment) -> Q:
    if segment.kind == Segment.Kind.STATIC:
        members = Segment.members.through.objects.filter(segment=segment, contact=OuterRef("pk"))
        return Q(Exists(members))
    return compile_definition(segment.team, segment.definition)


def audience_of(team, segments: list[Segment], excluded: list[Segment]) -> QuerySet[Contact]:
    included = Q(pk__in=[])
    for segment in segments:
        included |= _segment_q(segment)
    contacts = Contact.objects.filter(team=team).filter(included)
    for segment in excluded:
        contacts = contacts.exclude(_segment_q(segment))
    return contacts


@dataclass(slots=True)
class Recipient:
    """What planning a text reads of a contact, loaded as a plain row: building 100,000 model
    instances costs more than planning their texts. Reads like a Contact where it matters."""

    pk: int
    phone: str
    first_name: str
    last_name: str
    fields: dict
    consent: str
    time_zone: str
    owner_id: int | None
    owner: User | None = None

    full_name = Contact.full_name
    display_name = Contact.display_name
    merge_values = Contact.merge_values


RECIPIENT_COLUMNS = (
    "pk",
    "phone",
    "first_name",
    "last_name",
    "fields",
    "consent",
    "time_zone",
    "owner_id",
)


def as_recipients(rows: Iterable[tuple]) -> list[Recipient]:
    """Rows of RECIPIENT_COLUMNS as recipients, with their owners (one query)."""
    recipients = [Recipient(*row) for row in rows]
    owner_ids = {r.owner_id for r in recipients if r.owner_id}
    if owner_ids:
        owners = User.objects.in_bulk(owner_ids)
        for recipient in recipients:
            if recipient.owner_id:
                recipient.owner = owners.get(recipient.owner_id)
    return recipients


def _personal_opt_outs(send: Send, recipients: list[Recipient]) -> set[str]:
    """For a send from a personal inbox: which recipients opted out of personal inboxes."""
    if not send.inbox.is_personal:
        return set()
    return personal_opt_outs([r.phone for r in recipients])


def iter_recipients(contacts: QuerySet[Contact], chunk: int = 2000) -> Iterator[Recipient]:
    """Every contact of ``contacts`` as a recipient, read ``chunk`` at a time."""
    rows = contacts.values_list(*RECIPIENT_COLUMNS).iterator(chunk_size=chunk)
    while batch := list(islice(rows, chunk)):
        yield from as_recipients(batch)


@dataclass
class Planned:
    """One recipient's text, or why they get none."""

    contact: Recipient
    body: str = ""
    zone: str = ""
    ready_at: datetime | None = None
    excluded: str = ""
    detail: str = ""


def plan_recipient(
    send: Send,
    contact: Recipient,
    now: datetime,
    team_zone: str,
    personal_out: Collection[str] = (),
) -> Planned:
    """What one recipient gets: checked for consent, a textable number, every merge value,
    and (when skipping is chosen) their sending window. ``personal_out``: numbers no personal
    inbox may text (for a send from one)."""
    if contact.consent == Contact.Consent.OPTED_OUT or contact.phone in personal_out:
        return Planned(contact, excluded=SendExclusion.Reason.OPTED_OUT)
    problem = why_not_textable(contact.phone)
    if problem:
        return Planned(contact, excluded=SendExclusion.Reason.INVALID_NUMBER, detail=problem)
    rendered = render(send.body, contact.merge_values())
    if rendered.missing:
        detail = "No value for " + ", ".join(f"{{{name}}}" for name in rendered.missing)
        return Planned(contact, excluded=SendExclusion.Reason.MISSING_MERGE_VALUE, detail=detail)
    if len(rendered.text) > MAX_BODY_LENGTH:
        return Planned(contact, excluded=SendExclusion.Reason.TOO_LONG)
    zone = contact.time_zone or zone_of_number(contact.phone) or team_zone
    inbox = send.inbox
    ready = _opening(now, zone, inbox.window_start, inbox.window_end)
    if ready > now and send.outside_window == Send.OutsideWindow.SKIP:
        return Planned(contact, excluded=SendExclusion.Reason.OUTSIDE_WINDOW)
    return Planned(contact, body=rendered.text, zone=zone, ready_at=ready)


@lru_cache(maxsize=1024)
def _opening(now: datetime, zone: str, start, end) -> datetime:
    # The same few zones, at the same moment, for a whole batch.
    return next_opening(now, zoneinfo.ZoneInfo(zone), start, end)


def message_cost(body: str, has_media: bool, mms_cost: float) -> tuple[str, int, float]:
    """Encoding, segments and throughput cost of one text."""
    encoding, segments = sms_size(body)
    cost = mms_cost if has_media else float(max(segments, 1))
    return encoding.value, segments, cost


def start_send(send: Send) -> None:
    """Begin sending: take the send's place in its number's fair queue."""
    now = timezone.now()
    queued_bulk = Message.objects.filter(
        our_number=send.phone_number.number, status=MessageStatus.QUEUED, priority=1
    )
    frontier = queued_bulk.aggregate(low=Min("fair_rank"))["low"]
    if frontier is None:
        frontier = (
            Message.objects.filter(our_number=send.phone_number.number, priority=1).aggregate(
                high=Max("fair_rank")
            )["high"]
            or 0
        ) + 1
    Send.objects.filter(pk=send.pk, status=Send.Status.SCHEDULED).update(
        status=Send.Status.SENDING, started_at=now, fair_base=frontier
    )


def start_due_sends() -> int:
    """Scheduled sends whose time has come start now."""
    due = Send.objects.filter(status=Send.Status.SCHEDULED, scheduled_at__lte=timezone.now())
    started = 0
    for send in due.select_related("phone_number"):
        start_send(send)
        started += 1
    return started


def expand_next_batch() -> int:
    """Write the next batch of one sending send's recipients; returns how many were planned."""
    now = timezone.now()
    send = (
        Send.objects.filter(status=Send.Status.SENDING, expansion_done=False)
        .select_related("inbox", "phone_number", "team")
        .order_by("started_at", "id")
        .first()
    )
    if send is None:
        return 0
    size = FIRST_BATCH if send.expanded_through == 0 else BATCH
    return expand_batch(send, size, now)


def expand_batch(send: Send, size: int, now: datetime) -> int:
    with transaction.atomic():
        # The send's row lock makes each batch happen once, whichever worker gets here.
        locked = Send.objects.select_for_update().get(pk=send.pk)
        if locked.status != Send.Status.SENDING or locked.expansion_done:
            return 0
        contacts, walked_to, done = _next_recipients(locked, size)
        personal_out = _personal_opt_outs(send, contacts)
        plans = [
            plan_recipient(locked, c, now, send.team.time_zone, personal_out) for c in contacts
        ]
        sendable = [p for p in plans if not p.excluded]
        conversations, created_all = _conversations_for(send, sendable, now)
        first_rank = rank = locked.fair_base + locked.queued_count
        has_media = bool(locked.media_urls)
        rows = []
        for plan in sendable:
            encoding, segments, cost = message_cost(
                plan.body, has_media, send.phone_number.mms_cost
            )
            conversation_id = conversations[plan.contact.pk]
            rows.append(
                (
                    conversation_id,
                    plan.body,
                    encoding,
                    segments,
                    plan.ready_at,
                    rank,
                    cost,
                    plan.zone,
                )
            )
            rank += 1
        insert_many(
            Message,
            [
                "conversation_id",
                "body",
                "encoding",
                "segments",
                "next_attempt_at",
                "fair_rank",
                "cost",
                "local_zone",
            ],
            rows,
            same={
                "direction": Message.Direction.OUTBOUND,
                "media_urls": list(locked.media_urls),
                "status": MessageStatus.QUEUED,
                "our_number": send.phone_number.number,
                "provider": send.phone_number.provider,
                "sent_by_id": locked.created_by_id,
                "send_id": locked.pk,
                "priority": 1,
            },
        )
        if not created_all:
            _touch_conversations(locked, first_rank, rank - 1, now)
        if locked.event_id:
            # Each recipient of an event's send holds an open invitation to it (someone invited
            # or answered before keeps their answer: a reminder changes nothing).
            insert_many(
                Invitation,
                ["contact_id"],
                [(plan.contact.pk,) for plan in sendable],
                same={
                    "event_id": locked.event_id,
                    "status": Invitation.Status.INVITED,
                    "send_id": locked.pk,
                    "invited_at": now,
                },
                ignore_conflicts=True,
            )
        SendExclusion.objects.bulk_create(
            [
                SendExclusion(
                    send=locked, contact_id=p.contact.pk, reason=p.excluded, detail=p.detail[:200]
                )
                for p in plans
                if p.excluded
            ],
            ignore_conflicts=True,
        )
        counts = Counter(p.excluded for p in plans if p.excluded)
        excluded = dict(locked.excluded)
        for reason, count in counts.items():
            excluded[reason] = excluded.get(reason, 0) + count
        Send.objects.filter(pk=locked.pk).update(
            expanded_through=walked_to,
            queued_count=locked.queued_count + len(rows),
            excluded=excluded,
            expansion_done=done,
        )
    return len(contacts) or 1  # an empty batch did work too: it finished the expansion


def _next_recipients(send: Send, size: int) -> tuple[list[Recipient], int, bool]:
    """The audience's next ``size`` contacts after the walk's position; the new position; and
    whether the walk is over.

    The walk goes through windows of contact ids, each twice as wide as the last, rather than
    asking for "the next 2,000 after id X": how the database answers that depends on its
    statistics, and a fresh import's (none yet) made PostgreSQL read every remaining contact
    for every batch. A window bounds each query's work whatever the plan; a sparse audience
    just takes a few windows per batch."""
    after = send.expanded_through
    last_id = Contact.objects.filter(team_id=send.team_id).aggregate(last=Max("pk"))["last"] or 0
    contacts = audience(send).order_by("pk").values_list(*RECIPIENT_COLUMNS)
    found: list[tuple] = []
    span = size
    while after < last_id:
        high = min(after + span, last_id)
        found += contacts.filter(pk__gt=after, pk__lte=high)[: size - len(found)]
        if len(found) == size:
            return as_recipients(found), found[-1][0], False
        after, span = high, span * 2
    return as_recipients(found), after, True


def _conversations_for(
    send: Send, sendable: list[Planned], now: datetime
) -> tuple[dict[int, int], bool]:
    """Each recipient's conversation id in the send's inbox, created (showing the send's text)
    where there is none; and whether every one was created here.

    Looked up by the batch's contact-id range, not a list of 2,000 ids: building, sending and
    planning such a list costs more than reading the few extra rows a sparse audience brings."""
    if not sendable:
        return {}, True
    wanted = {p.contact.pk for p in sendable}
    in_range = Conversation.objects.filter(
        inbox=send.inbox,
        contact_id__gte=sendable[0].contact.pk,
        contact_id__lte=sendable[-1].contact.pk,
    )
    found = {
        contact_id: pk
        for contact_id, pk in in_range.values_list("contact_id", "pk")
        if contact_id in wanted
    }
    missing = [p for p in sendable if p.contact.pk not in found]
    if missing:
        picture = "(picture)" if send.media_urls else ""
        insert_many(
            Conversation,
            ["contact_id", "preview"],
            [(p.contact.pk, p.body[:PREVIEW_LENGTH] or picture) for p in missing],
            same={
                "inbox_id": send.inbox_id,
                "phone_number_id": send.phone_number_id,
                "last_message_at": now,
            },
            ignore_conflicts=True,  # one that a text from them created meanwhile is theirs
        )
        created = in_range.filter(
            contact_id__gte=missing[0].contact.pk, contact_id__lte=missing[-1].contact.pk
        )
        found.update(
            (contact_id, pk)
            for contact_id, pk in created.values_list("contact_id", "pk")
            if contact_id in wanted
        )
    return found, len(missing) == len(sendable)


def _touch_conversations(send: Send, first_rank: int, last_rank: int, now: datetime) -> None:
    """The list shows the send's text as each conversation's latest; a send is not an answer,
    so a conversation waiting for a reply keeps waiting.

    One UPDATE ... FROM for the whole batch (SQLite 3.33+ and PostgreSQL), the preview read
    from the texts just written (a send's ranks are consecutive): a per-row bulk_update, or a
    correlated subquery, of 2,000 conversations costs more than the rest of the batch."""
    if last_rank < first_rank:
        return
    conversation = Conversation._meta.db_table
    message = Message._meta.db_table
    preview = f"substr(m.body, 1, {PREVIEW_LENGTH})"
    if send.media_urls:
        preview = f"coalesce(nullif({preview}, ''), '(picture)')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {conversation} SET last_message_at = %s, preview = {preview} "
            f"FROM {message} m WHERE m.conversation_id = {conversation}.id "
            "AND m.send_id = %s AND m.fair_rank BETWEEN %s AND %s",
            [connection.ops.adapt_datetimefield_value(now), send.pk, first_rank, last_rank],
        )


def cancel(send: Send) -> int | None:
    """Stop a send for good: texts never handed over are withdrawn (returns how many); texts
    whose handover was interrupted are marked failed, since the provider may have them.
    Returns None when the send was already over (it may have finished a moment ago)."""
    with transaction.atomic():
        stopped = Send.objects.filter(
            pk=send.pk,
            status__in=[Send.Status.SCHEDULED, Send.Status.SENDING, Send.Status.PAUSED],
        ).update(status=Send.Status.CANCELLED, finished_at=timezone.now())
        if not stopped:
            return None
        queued = Message.objects.filter(send=send, status=MessageStatus.QUEUED)
        withdrawn, _ = queued.filter(handoff_started_at__isnull=True).delete()
        queued.update(
            status=MessageStatus.FAILED,
            error_code="cancelled",
            error_message="Cancelled while being handed over; it may have been sent.",
            claimed_until=None,
        )
    return withdrawn
