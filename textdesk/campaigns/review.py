"""The review step of compose, and a running send's ETA: who gets the text, who does not and
why, what it costs in segments, when it will be done, and what to watch out for."""

import re
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Avg, Count, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone

from textdesk.campaigns.actions import CONFIRM_AT
from textdesk.campaigns.estimates import Estimate, Group, simulate
from textdesk.campaigns.expansion import (
    Recipient,
    audience_of,
    iter_recipients,
    message_cost,
    plan_recipient,
)
from textdesk.campaigns.models import Send, SendExclusion
from textdesk.compliance.consent import personal_opt_outs
from textdesk.contacts.models import Segment
from textdesk.conversations.models import Message
from textdesk.inboxes.models import Inbox, PhoneNumber
from textdesk.messaging.status import MessageStatus
from textdesk.messaging.windows import closes_at

EXAMPLES_PER_REASON = 5
OVERLAP_BUFFER = timedelta(minutes=5)
OPT_OUT_WORDING = re.compile(r"\b(stop|unsubscribe|opt[ -]?out)\b", re.IGNORECASE)
OPT_OUT_FOOTER = "Reply STOP to opt out."


@dataclass
class Review:
    recipients: int
    excluded: Counter
    examples: dict[str, list[tuple[Recipient, str]]]
    duplicates: int
    worst_segments: int
    total_segments: int
    encodings: Counter
    estimate: Estimate
    warnings: list[str] = field(default_factory=list)
    needs_confirmation: bool = False
    suggest_opt_out_footer: bool = False

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    # Templates look up ``counter.items`` as the key "items" first, which a Counter answers
    # with 0: give them plain lists.
    @property
    def excluded_items(self) -> list[tuple[str, int]]:
        return sorted(self.excluded.items(), key=lambda item: -item[1])

    @property
    def encoding_items(self) -> list[tuple[str, int]]:
        return sorted(self.encodings.items())


def _competitors(phone_number: PhoneNumber, exclude_send: int | None = None) -> list[float]:
    """What other sends on the number still have to send, in segments."""
    remaining = []
    active = Send.objects.filter(
        phone_number=phone_number, status__in=[Send.Status.SENDING, Send.Status.PAUSED]
    )
    if exclude_send:
        active = active.exclude(pk=exclude_send)
    for send in active:
        queued = Message.objects.filter(send=send, status=MessageStatus.QUEUED).aggregate(
            cost=Sum("cost"), each=Avg("cost")
        )
        unexpanded = 0
        if not send.expansion_done:
            excluded = sum(send.excluded.values())
            left = max(send.planned_recipients - send.queued_count - excluded, 0)
            unexpanded = left * (queued["each"] or 1.0)
        remaining.append((queued["cost"] or 0.0) + unexpanded)
    return remaining


def review_send(
    *,
    inbox: Inbox,
    phone_number: PhoneNumber,
    segments: list[Segment],
    excluded_segments: list[Segment],
    body: str,
    media_urls: list[str],
    outside_window: str,
    start_at: datetime | None,
) -> Review:
    """Go through the whole audience as the send would, without writing anything."""
    body = inbox.with_footer(body)  # counted as it will go out
    now = timezone.now()
    start = start_at or now
    draft = Send(
        team=inbox.team,
        inbox=inbox,
        phone_number=phone_number,
        body=body,
        media_urls=media_urls,
        outside_window=outside_window,
    )
    contacts = audience_of(inbox.team, segments, excluded_segments)
    excluded: Counter = Counter()
    examples: dict[str, list] = defaultdict(list)
    groups: dict[tuple[datetime, str], Group] = {}
    encodings: Counter = Counter()
    worst = total = recipients = 0
    personal_out = personal_opt_outs(contacts.values("phone")) if inbox.is_personal else set()
    for contact in iter_recipients(contacts):
        plan = plan_recipient(draft, contact, start, inbox.team.time_zone, personal_out)
        if plan.excluded:
            excluded[plan.excluded] += 1
            if len(examples[plan.excluded]) < EXAMPLES_PER_REASON:
                examples[plan.excluded].append((contact, plan.detail))
            continue
        encoding, parts, cost = message_cost(plan.body, bool(media_urls), phone_number.mms_cost)
        recipients += 1
        encodings[encoding] += 1
        worst = max(worst, parts)
        total += parts
        key = (plan.ready_at, plan.zone)
        if key not in groups:
            closing = closes_at(plan.ready_at, zoneinfo.ZoneInfo(plan.zone), inbox.window_end)
            groups[key] = Group(ready_at=plan.ready_at, closes_at=closing, cost=0.0)
        groups[key].cost += cost
        groups[key].recipients += 1
    estimate = simulate(
        start_at=start,
        rate=phone_number.segments_per_second,
        groups=list(groups.values()),
        competitors=_competitors(phone_number),
    )
    review = Review(
        recipients=recipients,
        excluded=excluded,
        examples=dict(examples),
        # Contacts are unique per team and number: a contact in several of the chosen
        # segments is one recipient, texted once.
        duplicates=_duplicates(inbox.team, segments, excluded_segments),
        worst_segments=worst,
        total_segments=total,
        encodings=encodings,
        estimate=estimate,
        needs_confirmation=recipients >= CONFIRM_AT,
    )
    _warn(review, inbox, phone_number, body, media_urls, start)
    return review


def _duplicates(team, segments: list[Segment], excluded: list[Segment]) -> int:
    if len(segments) < 2:
        return 0
    separately = sum(audience_of(team, [s], excluded).count() for s in segments)
    return max(separately - audience_of(team, segments, excluded).count(), 0)


def _warn(review: Review, inbox, phone_number, body: str, media_urls, start: datetime) -> None:
    estimate = review.estimate
    zone = zoneinfo.ZoneInfo(inbox.team.time_zone)
    finish_local = estimate.finishes_at.astimezone(zone)
    start_local = start.astimezone(zone)
    evening = inbox.evening_warning
    if review.recipients and (
        finish_local.date() > start_local.date() or finish_local.time() > evening
    ):
        review.warnings.append(
            f"It would still be sending after {evening:%H:%M} ({inbox.team.time_zone}): "
            f"it finishes around {finish_local:%a %H:%M}."
        )
    if estimate.waiting_for_window:
        review.warnings.append(
            f"{estimate.waiting_for_window:,} recipients are outside their sending window "
            f"({inbox.window_start:%H:%M}-{inbox.window_end:%H:%M} their time) at the start: "
            "their texts wait until it opens."
        )
    if estimate.runs_into_quiet_hours:
        review.warnings.append(
            "Some texts would still be waiting when their recipients' window closes: they go "
            "out when it opens the next day."
        )
    for other in Send.objects.filter(
        phone_number=phone_number, status=Send.Status.SCHEDULED, estimated_finish_at__isnull=False
    ):
        if other.scheduled_at < estimate.finishes_at and other.estimated_finish_at > start:
            suggested = (other.estimated_finish_at + OVERLAP_BUFFER).astimezone(zone)
            review.warnings.append(
                f"It overlaps “{other.name}”, scheduled on the same number at "
                f"{other.scheduled_at.astimezone(zone):%a %H:%M}: both would go slower. "
                f"Starting after {suggested:%a %H:%M} avoids it."
            )
    if review.recipients >= CONFIRM_AT and not OPT_OUT_WORDING.search(body):
        review.suggest_opt_out_footer = True
        review.warnings.append(
            f"{review.recipients:,} recipients and no opt-out wording: add “{OPT_OUT_FOOTER}”."
        )
    if media_urls:
        review.warnings.append(
            f"Pictures make it slower: each text uses {phone_number.mms_cost:g} segments' worth "
            "of the number's throughput."
        )


def eta(send: Send) -> datetime | None:
    """When a running send should be done, from what is still queued and still to expand."""
    if send.status not in (Send.Status.SENDING, Send.Status.PAUSED):
        return send.finished_at
    now = timezone.now()
    inbox = send.inbox
    groups: dict[tuple, Group] = {}
    queued = Message.objects.filter(send=send, status=MessageStatus.QUEUED)
    # Grouped in the database (by minute and zone): the report asks for this every second
    # or so while 100,000 texts may still be queued.
    rows = (
        queued.order_by()
        .annotate(minute=TruncMinute("next_attempt_at", tzinfo=UTC))
        .values("minute", "local_zone")
        .annotate(cost=Sum("cost"), recipients=Count("id"))
        .values_list("minute", "local_zone", "cost", "recipients")
    )
    for minute, zone, cost, recipients in rows:
        ready = max(minute or now, now)
        key = (ready.replace(second=0, microsecond=0), zone)
        if key not in groups:
            closing = closes_at(ready, zoneinfo.ZoneInfo(zone), inbox.window_end) if zone else None
            groups[key] = Group(ready_at=ready, closes_at=closing, cost=0.0)
        groups[key].cost += cost
        groups[key].recipients += recipients
    if not send.expansion_done:
        left = max(send.planned_recipients - send.queued_count - sum(send.excluded.values()), 0)
        average = queued.aggregate(each=Avg("cost"))["each"] or 1.0
        groups[("later", "")] = Group(ready_at=now, closes_at=None, cost=left * average)
    estimate = simulate(
        start_at=now,
        rate=send.phone_number.segments_per_second,
        groups=list(groups.values()),
        competitors=_competitors(send.phone_number, exclude_send=send.pk),
    )
    return estimate.finishes_at


def exclusion_label(reason: str) -> str:
    return SendExclusion.Reason(reason).label
