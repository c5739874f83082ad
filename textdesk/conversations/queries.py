"""Reads for the inbox pages. Each list is a fixed, small number of queries however long it is."""

import re
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from textdesk.accounts.models import User
from textdesk.conversations.models import (
    Conversation,
    ConversationLock,
    ConversationRead,
    Message,
    Note,
)
from textdesk.core import clock
from textdesk.inboxes.models import Inbox
from textdesk.inboxes.queries import accessible_inboxes

THREAD_LENGTH = 200


class ListFilter:
    ALL = "all"
    UNREPLIED = "unreplied"
    MINE = "mine"
    CLOSED = "closed"
    CHOICES = ((UNREPLIED, "Unreplied"), (MINE, "Mine"), (ALL, "All open"), (CLOSED, "Closed"))

    @classmethod
    def parse(cls, value: str | None) -> str:
        return value if value in {choice for choice, _ in cls.CHOICES} else cls.ALL


def _effective_locks(now: datetime) -> QuerySet[ConversationLock]:
    return ConversationLock.objects.filter(expires_at__gt=now, present_until__gt=now)


def conversations_in(
    inbox: Inbox, show: str, viewer: User, now: datetime | None = None
) -> QuerySet[Conversation]:
    """Latest activity first. Each row knows who holds its lock (``lock_holder_id``) and when
    the viewer last read it (``read_at``), without a query per row."""
    now = now or clock.now()
    conversations = inbox.conversations.select_related("contact", "assigned_to")
    if show == ListFilter.UNREPLIED:
        conversations = conversations.filter(closed_at__isnull=True, needs_reply=True)
    elif show == ListFilter.MINE:
        conversations = conversations.filter(closed_at__isnull=True, assigned_to=viewer)
    elif show == ListFilter.CLOSED:
        conversations = conversations.filter(closed_at__isnull=False)
    else:
        conversations = conversations.filter(closed_at__isnull=True)
    lock = _effective_locks(now).filter(conversation=OuterRef("pk"))
    read = ConversationRead.objects.filter(conversation=OuterRef("pk"), user=viewer)
    return conversations.annotate(
        lock_holder_id=Subquery(lock.values("holder_id")[:1]),
        read_at=Subquery(read.values("read_at")[:1]),
    ).order_by("-last_message_at", "-id")


def attach_lock_holders(conversations: list[Conversation]) -> None:
    """Give each listed conversation its ``lock_holder`` (one query for the whole page)."""
    ids = {c.lock_holder_id for c in conversations if c.lock_holder_id}
    holders = User.objects.in_bulk(ids) if ids else {}
    for conversation in conversations:
        conversation.lock_holder = holders.get(conversation.lock_holder_id)


def is_unread(conversation: Conversation) -> bool:
    """Whether a conversation from ``conversations_in`` has texts its viewer has not seen."""
    inbound = conversation.last_inbound_at
    return inbound is not None and (conversation.read_at is None or conversation.read_at < inbound)


def unread_counts(viewer: User, inbox_ids: list[int]) -> dict[int, int]:
    """Open conversations with texts ``viewer`` has not seen, per inbox, in one query."""
    read = ConversationRead.objects.filter(conversation=OuterRef("pk"), user=viewer)
    rows = (
        Conversation.objects.filter(
            inbox_id__in=inbox_ids, closed_at__isnull=True, last_inbound_at__isnull=False
        )
        .annotate(read_at=Subquery(read.values("read_at")[:1]))
        .filter(Q(read_at__isnull=True) | Q(read_at__lt=F("last_inbound_at")))
        .values("inbox_id")
        .annotate(unread=Count("id"))
    )
    return {row["inbox_id"]: row["unread"] for row in rows}


def get_conversation_or_404(inbox: Inbox, conversation_id: int) -> Conversation:
    try:
        return (
            Conversation.objects.select_related(
                "contact__owner", "inbox__team", "phone_number", "assigned_to"
            )
            .filter(inbox=inbox)
            .get(pk=conversation_id)
        )
    except Conversation.DoesNotExist:
        raise Http404("No such conversation") from None


@dataclass(frozen=True)
class TimelineItem:
    """A message or a note, in the order they happened."""

    created_at: datetime
    message: Message | None = None
    note: Note | None = None


def timeline_of(conversation: Conversation) -> list[TimelineItem]:
    """The newest messages of a conversation with the notes among them, oldest first."""
    messages = list(
        conversation.messages.select_related("sent_by").order_by("-created_at", "-id")[
            :THREAD_LENGTH
        ]
    )
    messages.reverse()
    notes = conversation.notes.select_related("author").order_by("created_at", "id")
    if len(messages) == THREAD_LENGTH:
        notes = notes.filter(created_at__gte=messages[0].created_at)
    items = chain(
        (TimelineItem(m.created_at, message=m) for m in messages),
        (TimelineItem(n.created_at, note=n) for n in notes),
    )
    return sorted(items, key=lambda item: item.created_at)


def newest_message_id(conversation: Conversation) -> int:
    newest = conversation.messages.order_by("-pk").values_list("pk", flat=True).first()
    return newest or 0


SEARCH_LIMIT = 50
PHONE_LIKE = re.compile(r"[\d\s().+-]+")


def search_conversations(viewer: User, text: str) -> list[Conversation]:
    """Conversations in the viewer's inboxes whose contact's name or number, or any message,
    matches ``text``; each with ``match`` set to the newest matching message's text, if any."""
    # PostgreSQL refuses text with NUL characters; no name or message contains one anyway.
    text = " ".join(text.replace("\x00", "").split())
    if len(text) < 2:
        return []
    words = text.split()
    by_name = Q()
    for word in words:
        by_name &= Q(contact__first_name__icontains=word) | Q(contact__last_name__icontains=word)
    matching_messages = Message.objects.filter(
        conversation=OuterRef("pk"), body__icontains=text
    ).order_by("-created_at", "-id")
    condition = by_name | Q(Exists(matching_messages))
    # A query that looks like (part of) a phone number also matches numbers, however typed:
    # "(617) 555-01" finds +16175550142; "room 555" is words, not a number.
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 3 and PHONE_LIKE.fullmatch(text):
        condition |= Q(contact__phone__contains=digits)
    return list(
        Conversation.objects.filter(inbox__in=accessible_inboxes(viewer))
        .filter(condition)
        .select_related("contact", "inbox")
        .annotate(match=Subquery(matching_messages.values("body")[:1]))
        .order_by("-last_message_at", "-id")[:SEARCH_LIMIT]
    )
