"""What a send did: the read side of its report page, its live progress and the header's
indicator of sends in progress.

Every number here is counted by the database in a few queries whatever the send's size: the
totals are one aggregate over the send's messages (index ``msg_send_status``), the recipient
table is one page of one annotated query, and the chart groups timestamps by minute in SQL
before they are put into buckets here.
"""

import math
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncMinute
from django.http import Http404

from textdesk.accounts.models import User
from textdesk.campaigns.models import Send, SendExclusion
from textdesk.contacts.models import Contact
from textdesk.conversations.models import Message
from textdesk.inboxes.queries import accessible_inboxes
from textdesk.messaging.status import MessageStatus

PAGE_SIZE = 50
ACTIVE = (Send.Status.SENDING, Send.Status.PAUSED)
HANDED_OVER = (MessageStatus.SENDING, MessageStatus.SENT)
PROBLEMS = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)

# What the codes we meet most often mean, in words (Twilio's codes; the simulator uses them too).
ERROR_LABELS = {
    "21610": "Opted out",
    "cancelled": "Cancelled while being handed over (it may have been sent)",
    "21211": "Not a valid phone number",
    "30003": "Unreachable handset",
    "30005": "Unknown or inactive number",
    "30006": "Landline or unreachable carrier",
    "30007": "Blocked as spam by the carrier",
}


# --- Which sends --------------------------------------------------------------------------


def sends_visible_to(user: User) -> QuerySet[Send]:
    """Sends from the inboxes the user may work in."""
    return Send.objects.filter(inbox__in=accessible_inboxes(user))


def get_send_or_404(user: User, send_id: int) -> Send:
    """The send, or 404 both when it does not exist and when its inbox is not the user's to
    see, so that nobody can probe which sends exist."""
    try:
        return sends_visible_to(user).select_related("inbox__team", "phone_number").get(pk=send_id)
    except Send.DoesNotExist:
        raise Http404("No such send") from None


def team_zone(send: Send) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(send.inbox.team.time_zone)


# --- Totals -------------------------------------------------------------------------------


@dataclass
class Problem:
    """Texts that failed or were not delivered, for one reason."""

    status: str
    code: str
    label: str
    count: int


@dataclass
class Exclusion:
    reason: str
    label: str
    count: int


@dataclass
class Totals:
    planned: int  # the audience when the send was created
    queued: int  # still to go: queued texts, and recipients not written out yet
    sent: int  # handed to the provider, no receipt yet
    delivered: int
    undelivered: int
    failed: int
    problems: list[Problem]
    excluded: list[Exclusion]
    replied: int  # conversations with a reply to this send
    opted_out_since: int  # recipients who have opted out by now
    not_sent: int  # a cancelled send: recipients who never got a text
    percent_done: int

    @property
    def excluded_total(self) -> int:
        return sum(e.count for e in self.excluded)

    @property
    def handed_over(self) -> int:
        return self.sent + self.delivered + self.undelivered

    @property
    def processed(self) -> int:
        """Texts out of the queue: handed over, or failed."""
        return self.handed_over + self.failed


def _outbound(send: Send) -> QuerySet[Message]:
    return Message.objects.filter(send=send, direction=Message.Direction.OUTBOUND)


def _excluded(send: Send) -> list[Exclusion]:
    found = []
    for reason, count in (send.excluded or {}).items():
        if not count:
            continue
        try:
            label = SendExclusion.Reason(reason).label
        except ValueError:
            label = reason.replace("_", " ").capitalize()
        found.append(Exclusion(reason, str(label), count))
    return sorted(found, key=lambda e: (-e.count, e.label))


def _not_expanded(send: Send, excluded: int) -> int:
    """Recipients the worker has not written out yet (an estimate: the audience may change)."""
    if send.status == Send.Status.SCHEDULED:
        return send.planned_recipients
    if send.status in ACTIVE and not send.expansion_done:
        return max(send.planned_recipients - send.queued_count - excluded, 0)
    return 0


def percent_done(send: Send, handled: int) -> int:
    """``handled``: recipients excluded, or whose text has left the queue."""
    if send.status == Send.Status.DONE:
        return 100
    if send.planned_recipients <= 0:
        return 0
    return min(100, handled * 100 // send.planned_recipients)


def error_label(code: str, message: str) -> str:
    return ERROR_LABELS.get(code) or message or (f"Error {code}" if code else "No reason given")


def totals(send: Send) -> Totals:
    """Everything the report counts, in four queries."""
    outbound = _outbound(send)
    counts = outbound.aggregate(
        total=Count("pk"),
        queued=Count("pk", filter=Q(status=MessageStatus.QUEUED)),
        sent=Count("pk", filter=Q(status__in=HANDED_OVER)),
        delivered=Count("pk", filter=Q(status=MessageStatus.DELIVERED)),
        undelivered=Count("pk", filter=Q(status=MessageStatus.UNDELIVERED)),
        failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
        opted_out=Count(
            "conversation__contact",
            filter=Q(conversation__contact__consent=Contact.Consent.OPTED_OUT),
            distinct=True,
        ),
    )
    reasons = (
        outbound.filter(status__in=PROBLEMS)
        .values("status", "error_code")
        .annotate(count=Count("pk"), example=Min("error_message"))
        .order_by("-count", "status", "error_code")
    )
    problems = [
        Problem(
            r["status"], r["error_code"], error_label(r["error_code"], r["example"]), r["count"]
        )
        for r in reasons
    ]
    replied = Message.objects.filter(send=send, direction=Message.Direction.INBOUND).aggregate(
        n=Count("conversation", distinct=True)
    )["n"]
    excluded = _excluded(send)
    excluded_total = sum(e.count for e in excluded)
    handled = counts["total"] - counts["queued"] + excluded_total
    not_sent = 0
    if send.status == Send.Status.CANCELLED:
        not_sent = max(send.planned_recipients - counts["total"] - excluded_total, 0)
    return Totals(
        planned=send.planned_recipients,
        queued=counts["queued"] + _not_expanded(send, excluded_total),
        sent=counts["sent"],
        delivered=counts["delivered"],
        undelivered=counts["undelivered"],
        failed=counts["failed"],
        problems=problems,
        excluded=excluded,
        replied=replied,
        opted_out_since=counts["opted_out"],
        not_sent=not_sent,
        percent_done=percent_done(send, handled),
    )


# --- Over time ----------------------------------------------------------------------------

# Bucket sizes the chart chooses from, in minutes (each divides a day, or is a whole day).
BUCKET_CHOICES = (1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440)
MAX_BUCKETS = 60


@dataclass
class Bucket:
    start: datetime
    minutes: int
    sent: int = 0
    delivered: int = 0
    replies: int = 0

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    @property
    def peak(self) -> int:
        return max(self.sent, self.delivered, self.replies)


def _per_minute(messages: QuerySet[Message], field: str) -> list[tuple[datetime, int]]:
    return list(
        messages.filter(**{f"{field}__isnull": False})
        .annotate(minute=TruncMinute(field, tzinfo=UTC))
        .values("minute")
        .annotate(n=Count("pk"))
        .order_by("minute")
        .values_list("minute", "n")
    )


def bucket_minutes_for(span: timedelta) -> int:
    """The smallest bucket that draws ``span`` in at most MAX_BUCKETS bars."""
    minutes = span.total_seconds() / 60
    for size in BUCKET_CHOICES:
        if minutes // size + 1 <= MAX_BUCKETS:
            return size
    return 1440 * math.ceil(minutes / 1440 / (MAX_BUCKETS - 1))


def _aligned_start(moment: datetime, size: int, zone: zoneinfo.ZoneInfo) -> datetime:
    """The start of the bucket holding ``moment``, on round times of the team's clock."""
    local = moment.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    into_day = local.hour * 60 + local.minute
    start = midnight + timedelta(minutes=into_day - into_day % size if size < 1440 else 0)
    start = start.astimezone(UTC)
    while start > moment:  # a daylight-saving change between midnight and moment
        start -= timedelta(minutes=size)
    return start


def timeline(
    send: Send, bucket_minutes: int | None = None, *, zone: zoneinfo.ZoneInfo | None = None
) -> list[Bucket]:
    """Texts handed over, delivered and replies received per bucket of time, from the first to
    the last that happened (empty buckets included, so that bars stand for equal times).
    Without ``bucket_minutes``, the smallest size that keeps it to MAX_BUCKETS bars. Three
    queries, each returning at most a row per minute."""
    zone = zone or team_zone(send)
    outbound = _outbound(send)
    inbound = Message.objects.filter(send=send, direction=Message.Direction.INBOUND)
    series = {
        "sent": _per_minute(outbound, "sent_at"),
        "delivered": _per_minute(outbound, "delivered_at"),
        "replies": _per_minute(inbound, "created_at"),
    }
    minutes = [minute for rows in series.values() for minute, _ in rows]
    if not minutes:
        return []
    first, last = min(minutes), max(minutes)
    size = max(1, bucket_minutes or bucket_minutes_for(last - first))
    start = _aligned_start(first, size, zone)
    step = timedelta(minutes=size)
    count = int((last - start) / step) + 1
    buckets = [Bucket(start=start + i * step, minutes=size) for i in range(count)]
    for name, rows in series.items():
        for minute, n in rows:
            bucket = buckets[int((minute - start) / step)]
            setattr(bucket, name, getattr(bucket, name) + n)
    return buckets


# --- Recipients ---------------------------------------------------------------------------


@dataclass
class RecipientRow:
    name: str
    phone: str
    display_name: str
    status: str
    status_label: str
    error_code: str
    error: str
    sent_at: datetime | None
    delivered_at: datetime | None
    replied: bool
    conversation_id: int | None


# The table's filters: value, label.
STATUS_FILTERS = [
    ("all", "All"),
    ("queued", "Still to go"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("undelivered", "Undelivered"),
    ("failed", "Failed"),
    ("replied", "Replied"),
    ("excluded", "Excluded"),
]
FILTER_VALUES = {value for value, _ in STATUS_FILTERS}


def parse_filter(value: str | None) -> str:
    return value if value in FILTER_VALUES else "all"


def _messages_for(send: Send, status_filter: str) -> QuerySet[Message]:
    replies = Message.objects.filter(
        send=send, direction=Message.Direction.INBOUND, conversation=OuterRef("conversation")
    )
    messages = (
        _outbound(send)
        .select_related("conversation__contact")
        .annotate(replied=Exists(replies))
        .order_by("pk")
    )
    if status_filter == "sent":
        return messages.filter(status__in=HANDED_OVER)
    if status_filter == "replied":
        return messages.filter(replied=True)
    if status_filter in MessageStatus.values:
        return messages.filter(status=status_filter)
    return messages


def _exclusions_for(send: Send) -> QuerySet[SendExclusion]:
    return SendExclusion.objects.filter(send=send).select_related("contact").order_by("pk")


def _message_row(message: Message) -> RecipientRow:
    contact = message.conversation.contact
    has_error = bool(message.error_code or message.error_message)
    return RecipientRow(
        name=contact.full_name,
        phone=contact.phone,
        display_name=contact.display_name,
        status=message.status,
        status_label=message.get_status_display(),
        error_code=message.error_code,
        error=error_label(message.error_code, message.error_message) if has_error else "",
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        replied=message.replied,
        conversation_id=message.conversation_id,
    )


def _exclusion_row(exclusion: SendExclusion) -> RecipientRow:
    contact = exclusion.contact
    label = str(exclusion.get_reason_display())
    return RecipientRow(
        name=contact.full_name,
        phone=contact.phone,
        display_name=contact.display_name,
        status="excluded",
        status_label="Excluded",
        error_code=exclusion.reason,
        error=f"{label}: {exclusion.detail}" if exclusion.detail else label,
        sent_at=None,
        delivered_at=None,
        replied=False,
        conversation_id=None,
    )


def recipient_rows(send: Send, status_filter: str = "all", page: int | str | None = 1) -> Page:
    """One page of the recipients, as RecipientRow: two queries (a count and the page),
    however many recipients and whatever the filter. ``excluded`` lists the contacts of the
    audience who got no text, and why."""
    status_filter = parse_filter(status_filter)
    if status_filter == "excluded":
        found = Paginator(_exclusions_for(send), PAGE_SIZE).get_page(page)
        found.object_list = [_exclusion_row(e) for e in found.object_list]
    else:
        found = Paginator(_messages_for(send, status_filter), PAGE_SIZE).get_page(page)
        found.object_list = [_message_row(m) for m in found.object_list]
    return found


def recipient_chunk(
    send: Send, status_filter: str, after: tuple[int, int], size: int
) -> tuple[list[RecipientRow], tuple[int, int] | None]:
    """For the CSV: the next ``size`` rows after ``after`` (part, id): texted recipients
    first, then excluded ones. Returns the rows and where the next chunk starts (None: done)."""
    status_filter = parse_filter(status_filter)
    part, after_id = after
    if part == 0 and status_filter != "excluded":
        messages = list(_messages_for(send, status_filter).filter(pk__gt=after_id)[:size])
        if messages:
            return [_message_row(m) for m in messages], (0, messages[-1].pk)
        part, after_id = 1, 0
    if status_filter in ("all", "excluded"):
        exclusions = list(_exclusions_for(send).filter(pk__gt=after_id)[:size])
        if exclusions:
            return [_exclusion_row(e) for e in exclusions], (1, exclusions[-1].pk)
    return [], None


# --- In progress --------------------------------------------------------------------------


@dataclass
class ActiveSend:
    send: Send
    done: int
    planned: int
    percent_done: int

    @property
    def paused(self) -> bool:
        return self.send.status == Send.Status.PAUSED


def active_sends(user: User) -> list[ActiveSend]:
    """Sends going out (or paused) that the user may see, with how far each got: one query."""
    still_queued = (
        Message.objects.filter(send=OuterRef("pk"), status=MessageStatus.QUEUED)
        .order_by()
        .values("send")
        .annotate(n=Count("pk"))
        .values("n")
    )
    sends = (
        sends_visible_to(user)
        .filter(status__in=ACTIVE)
        .select_related("inbox")
        .annotate(still_queued=Subquery(still_queued))
        .order_by("started_at", "pk")
    )
    found = []
    for send in sends:
        excluded = sum((send.excluded or {}).values())
        done = send.queued_count - (send.still_queued or 0) + excluded
        found.append(ActiveSend(send, done, send.planned_recipients, percent_done(send, done)))
    return found
