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
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from textdesk.campaigns.merge import render
from textdesk.campaigns.models import Send, SendExclusion
from textdesk.contacts.models import Contact, Segment, zone_of_number
from textdesk.contacts.segments import compile_definition
from textdesk.conversations.models import MAX_BODY_LENGTH, Conversation, Message
from textdesk.core.bulk import insert_many
from textdesk.messaging.encoding import analyze_sms
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


@dataclass
class Planned:
    """One recipient's text, or why they get none."""

    contact: Contact
    body: str = ""
    zone: str = ""
    ready_at: datetime | None = None
    excluded: str = ""
    detail: str = ""


def plan_recipient(send: Send, contact: Contact, now: datetime, team_zone: str) -> Planned:
    """What one recipient gets: checked for consent, a textable number, every merge value,
    and (when skipping is chosen) their sending window."""
    if contact.consent == Contact.Consent.OPTED_OUT:
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
    analysis = analyze_sms(body)
    cost = mms_cost if has_media else float(max(analysis.segments, 1))
    return analysis.encoding.value, analysis.segments, cost


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
        contacts = list(
            audience(locked)
            .filter(pk__gt=locked.expanded_through)
            .select_related("owner")
            .order_by("pk")[:size]
        )
        plans = [plan_recipient(locked, c, now, send.team.time_zone) for c in contacts]
        sendable = [p for p in plans if not p.excluded]
        conversations = _conversations_for(send, [p.contact for p in sendable], now)
        first_rank = rank = locked.fair_base + locked.queued_count
        has_media = bool(locked.media_urls)
        rows = []
        for plan in sendable:
            encoding, segments, cost = message_cost(
                plan.body, has_media, send.phone_number.mms_cost
            )
            conversation_id = conversations[plan.contact.pk].pk
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
        _touch_conversations(locked, first_rank, rank - 1, now)
        SendExclusion.objects.bulk_create(
            [
                SendExclusion(
                    send=locked, contact=p.contact, reason=p.excluded, detail=p.detail[:200]
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
            expanded_through=contacts[-1].pk if contacts else locked.expanded_through,
            queued_count=locked.queued_count + len(rows),
            excluded=excluded,
            expansion_done=len(contacts) < size,
        )
        Contact.objects.filter(pk__in=[p.contact.pk for p in sendable]).update(last_texted_at=now)
    return len(contacts) or 1  # an empty batch did work too: it finished the expansion


def _conversations_for(
    send: Send, contacts: list[Contact], now: datetime
) -> dict[int, Conversation]:
    """Each contact's conversation in the send's inbox, created where there is none."""
    ids = [c.pk for c in contacts]
    existing = {
        c.contact_id: c
        for c in Conversation.objects.filter(inbox=send.inbox, contact_id__in=ids).only(
            "pk", "contact_id"
        )
    }
    missing = [contact_id for contact_id in ids if contact_id not in existing]
    if missing:
        insert_many(
            Conversation,
            ["contact_id"],
            [(contact_id,) for contact_id in missing],
            same={
                "inbox_id": send.inbox_id,
                "phone_number_id": send.phone_number_id,
                "last_message_at": now,
            },
            ignore_conflicts=True,  # one that a text from them created meanwhile is theirs
        )
        created = Conversation.objects.filter(inbox=send.inbox, contact_id__in=missing)
        existing.update({c.contact_id: c for c in created.only("pk", "contact_id")})
    return existing


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
