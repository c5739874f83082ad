"""Writes that matter in conversations: receiving a text, replying, starting a conversation,
and the triage around them (closing, assigning, notes, marking read).

Views, webhooks, the simulator and tests all call these functions; each runs in one
transaction, so a failure leaves nothing half-written, and announces what changed to open pages.
"""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from textdesk.accounts.models import User
from textdesk.compliance.consent import handle_inbound, keep_earlier_opt_outs, opt_out_reason
from textdesk.compliance.notify import notify_team
from textdesk.contacts.models import Contact
from textdesk.conversations import locks
from textdesk.conversations.attachments import queue_inbound_media
from textdesk.conversations.models import (
    MAX_BODY_LENGTH,
    Conversation,
    ConversationRead,
    Message,
    Note,
)
from textdesk.core import clock
from textdesk.events.rsvp import handle_reply
from textdesk.inboxes.models import Inbox, PhoneNumber
from textdesk.inboxes.queries import can_access_inbox, inbox_members
from textdesk.live.events import publish
from textdesk.messaging.encoding import analyze_sms
from textdesk.messaging.status import MessageStatus
from textdesk.messaging.windows import is_open
from textdesk.phones import InvalidPhoneNumber, pretty, textable_e164, to_e164
from textdesk.providers.base import InboundSms

logger = logging.getLogger(__name__)

# Inbound texts are reassembled by the carrier; anything far beyond Twilio's 1,600 is not a text.
MAX_INBOUND_BODY_LENGTH = 10_000
PREVIEW_LENGTH = 160


class UnknownNumber(Exception):
    """A text to a number that is not one of ours (or not on that provider)."""


class RejectedInbound(Exception):
    """An inbound text we cannot store as it is (sender not a phone number, absurd length)."""


class SendRefused(Exception):
    """A reply that may not be sent, with a message fit to show to the user and the form
    field it is about (None when it is about the whole form)."""

    def __init__(self, message: str, field: str | None = "body") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SendConflict(SendRefused):
    """A reply that collides with someone else's work (HTTP 409): another person holds the
    conversation, or a new text arrived after the reply was begun (``newer`` is that text)."""

    def __init__(self, message: str, *, newer: Message | None = None) -> None:
        super().__init__(message, field=None)
        self.newer = newer


class OutsideQuietHours(SendRefused):
    """A first text to someone at an hour outside the inbox's sending window, in their time:
    sent only when the sender says so (a reply to someone who just texted is never held)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field=None)


# Someone who texted us this recently may be answered at any hour.
JUST_TEXTED_HOURS = 24


@dataclass(frozen=True)
class Received:
    message: Message
    created: bool  # False when this was a repeated delivery of a message we already have


def _preview(message: Message) -> str:
    text = " ".join(message.body.split())
    if not text and message.media_urls:
        text = "(picture)"
    return text[:PREVIEW_LENGTH]


def _record_activity(
    conversation: Conversation,
    message: Message,
    *,
    needs_reply: bool,
    phone_number: PhoneNumber | None = None,
) -> None:
    """Keep the conversation's list fields in step with its newest message."""
    conversation.last_message_at = message.created_at
    conversation.needs_reply = needs_reply
    conversation.preview = _preview(message)
    fields = ["last_message_at", "needs_reply", "preview"]
    if message.is_inbound:
        conversation.last_inbound_at = message.created_at
        # A new text reopens a closed conversation: nothing a contact says is lost in "closed".
        conversation.closed_at = None
        fields += ["last_inbound_at", "closed_at"]
    if phone_number is not None:
        # Replies go out from the number the contact last texted.
        conversation.phone_number = phone_number
        fields.append("phone_number")
    conversation.save(update_fields=fields)


def announce_message(message: Message, conversation: Conversation) -> None:
    publish(
        "message",
        inbox_id=conversation.inbox_id,
        conversation_id=conversation.pk,
        message=message.pk,
        direction=message.direction,
        assigned_to=conversation.assigned_to_id,
    )


def receive_inbound(provider: str, sms: InboundSms) -> Received:
    """Store a text a contact sent us, exactly once per provider message id.

    Providers deliver webhooks at least once, sometimes twice at the same moment; the unique
    constraint on (provider, provider_message_id) makes the second delivery find the first.
    """
    try:
        our_number = to_e164(sms.to_number)
    except InvalidPhoneNumber:
        raise UnknownNumber(f"{sms.to_number!r} is not one of our numbers") from None
    phone_number = (
        PhoneNumber.objects.select_related("inbox")
        .filter(number=our_number, provider=provider)
        .first()
    )
    if phone_number is None:
        raise UnknownNumber(f"{our_number} is not one of our {provider} numbers")
    try:
        sender = to_e164(sms.from_number)
    except InvalidPhoneNumber as e:
        raise RejectedInbound(f"From: {e}") from None
    if len(sms.body) > MAX_INBOUND_BODY_LENGTH:
        raise RejectedInbound(f"Body is longer than {MAX_INBOUND_BODY_LENGTH:,} characters")

    with transaction.atomic():
        existing = Message.objects.filter(
            provider=provider, provider_message_id=sms.provider_message_id
        ).first()
        if existing is not None:
            return Received(existing, created=False)
        inbox = phone_number.inbox
        contact, new_contact = Contact.objects.get_or_create(team_id=inbox.team_id, phone=sender)
        if new_contact:
            keep_earlier_opt_outs([contact])
        conversation = _locked(_get_or_create_conversation(inbox, contact, phone_number))
        analysis = analyze_sms(sms.body)
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    conversation=conversation,
                    send_id=_send_being_answered(conversation),
                    direction=Message.Direction.INBOUND,
                    body=sms.body,
                    media_urls=list(sms.media_urls),
                    status=MessageStatus.RECEIVED,
                    our_number=phone_number.number,
                    provider=provider,
                    provider_message_id=sms.provider_message_id,
                    encoding=analysis.encoding.value,
                    segments=analysis.segments,
                )
        except IntegrityError:
            # Another delivery of the same message committed between our check and insert.
            existing = Message.objects.get(
                provider=provider, provider_message_id=sms.provider_message_id
            )
            return Received(existing, created=False)
        handled = handle_inbound(inbox, contact, message)
        needs_reply = handled.needs_reply
        rsvp = None
        if not message.compliance:  # keywords (and possible opt-outs) win over RSVP words
            rsvp = handle_reply(inbox, contact, message)
        if rsvp is not None:
            needs_reply = rsvp.needs_reply
            if rsvp.event is not None:
                message.event = rsvp.event
                message.save(update_fields=["event"])
        _record_activity(conversation, message, needs_reply=needs_reply, phone_number=phone_number)
        if message.media_urls:
            queue_inbound_media(message)
        announce_message(message, conversation)
        if handled.answer:
            queue_automatic_answer(conversation, handled.answer, handled.answer_kind)
        if rsvp is not None and rsvp.note:
            Note.objects.create(
                conversation=conversation, kind=Note.Kind.EVENT, body=rsvp.note, message=message
            )
        if rsvp is not None and rsvp.answer:
            queue_automatic_answer(conversation, rsvp.answer, "", needs_reply=needs_reply)
        if new_contact:
            notify_team(
                inbox.team,
                f"A text from an unknown number in {inbox.name}",
                f"{pretty(sender)} texted {inbox.name} ({our_number}) for the first time:\n\n"
                f"{sms.body[:500]}\n\n{settings.TEXTDESK_PUBLIC_URL}{conversation_url(conversation)}",
            )
    logger.info("Received message %s in inbox %s", message.pk, inbox.pk)
    return Received(message, created=True)


# A text counts as a reply to a send when it comes within this long of the send's text.
REPLY_TO_SEND_DAYS = 7


def _send_being_answered(conversation: Conversation) -> int | None:
    """The send whose text this conversation last got, if recent: its report counts replies."""
    latest = (
        conversation.messages.filter(direction=Message.Direction.OUTBOUND)
        .order_by("-created_at", "-id")
        .values_list("send_id", "created_at")
        .first()
    )
    if latest is None or latest[0] is None:
        return None
    if latest[1] < timezone.now() - timedelta(days=REPLY_TO_SEND_DAYS):
        return None
    return latest[0]


def _locked(conversation: Conversation) -> Conversation:
    """The conversation, re-read with its row locked until the transaction ends.

    Every action that adds a message takes this lock first, so messages get their timestamps
    in the order their transactions commit and the list fields (``needs_reply``, ``preview``)
    always describe the newest message: a reply committing late can never hide a text that
    arrived meanwhile. (SQLite's IMMEDIATE transactions already serialize all writers.)
    """
    return (
        # Only the conversation's row: locking the joined inbox and number too would queue
        # every text of the inbox behind each other, and behind the dispatcher's number lock.
        Conversation.objects.select_for_update(of=("self",))
        .select_related("inbox", "phone_number")
        .get(pk=conversation.pk)
    )


def queue_automatic_answer(
    conversation: Conversation, body: str, kind: str, *, needs_reply: bool = False
) -> Message:
    """An automatic answer (to a keyword, an RSVP): queued first in line like any reply; a
    STOP's confirmation goes even to someone who just opted out (the rules require it).
    ``needs_reply``: a person should still answer what they wrote (an unclear RSVP)."""
    phone_number = conversation.phone_number
    analysis = analyze_sms(body)
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        body=body,
        status=MessageStatus.QUEUED,
        our_number=phone_number.number,
        provider=phone_number.provider,
        encoding=analysis.encoding.value,
        segments=analysis.segments,
        next_attempt_at=timezone.now(),
        compliance=kind,
    )
    _record_activity(conversation, message, needs_reply=needs_reply)
    announce_message(message, conversation)
    return message


def _get_or_create_conversation(
    inbox: Inbox, contact: Contact, phone_number: PhoneNumber
) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        inbox=inbox, contact=contact, defaults={"phone_number": phone_number}
    )
    return conversation


def clean_body(body: str, *, has_media: bool = False) -> str:
    """The body of an outgoing text, or SendRefused with what is wrong with it. A picture
    alone is a message; otherwise it needs words."""
    if (not body or not body.strip()) and not has_media:
        raise SendRefused("Write a message first.")
    if len(body) > MAX_BODY_LENGTH:
        raise SendRefused(
            f"That message is {len(body):,} characters long; the limit is {MAX_BODY_LENGTH:,}."
        )
    return body


def send_reply(
    user: User,
    conversation: Conversation,
    body: str,
    *,
    seen_message_id: int | None = None,
    media_urls: list[str] | tuple[str, ...] = (),
) -> Message:
    """Queue a reply from ``user`` in ``conversation``; the worker hands it to the provider.

    Refused with SendConflict when someone else holds the conversation's lock, or when a text
    newer than ``seen_message_id`` (the newest message the sender's page showed) has arrived:
    the sender should read it first. The lock check, that check and the write happen in one
    transaction, so two replies can never both go out. The message row is the outbox entry,
    written in the same transaction, so a reply is never lost between "saved" and "queued".
    """
    body = clean_body(body, has_media=bool(media_urls))
    if not can_access_inbox(user, conversation.inbox):
        raise SendRefused("You do not have access to this inbox.", field=None)
    analysis = analyze_sms(body)
    with transaction.atomic():
        conversation = _locked(conversation)
        try:
            locks.claim_for_sending(user, conversation, clock.now())
        except locks.LockedByOther as e:
            raise SendConflict(
                f"{e.holder.display_name} is answering this conversation; your reply was not "
                "sent. Your draft is kept."
            ) from None
        if seen_message_id is not None:
            _check_nothing_new(user, conversation, seen_message_id)
        # Read now, under the conversation's lock: a STOP a moment ago counts.
        contact = Contact.objects.select_related("team").get(pk=conversation.contact_id)
        refusal = opt_out_reason(contact, conversation.inbox)
        if refusal:
            raise SendRefused(refusal, field=None)
        phone_number = conversation.phone_number
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            body=body,
            media_urls=list(media_urls),
            status=MessageStatus.QUEUED,
            our_number=phone_number.number,
            provider=phone_number.provider,
            sent_by=user,
            encoding=analysis.encoding.value,
            segments=analysis.segments,
            next_attempt_at=timezone.now(),
        )
        _record_activity(conversation, message, needs_reply=False)
        Contact.objects.filter(pk=conversation.contact_id).update(last_texted_at=message.created_at)
        announce_message(message, conversation)
        if conversation.inbox.is_personal:
            _show_in_shared_inboxes(user, conversation, message)
    logger.info("Queued message %s from user %s", message.pk, user.pk)
    return message


def _check_nothing_new(user: User, conversation: Conversation, seen_message_id: int) -> None:
    """The "traffic cop": refuse a reply begun before the contact wrote again, or before
    someone else answered, so that nobody answers a question that has moved on."""
    newer = (
        conversation.messages.filter(pk__gt=seen_message_id)
        .exclude(direction=Message.Direction.OUTBOUND, sent_by=user)
        .select_related("sent_by")
        .order_by("-pk")
        .first()
    )
    if newer is None:
        return
    if newer.is_inbound:
        raise SendConflict(
            "A new text arrived while you were writing. Read it, then send again.", newer=newer
        )
    who = newer.sent_by.display_name if newer.sent_by else "Someone"
    raise SendConflict(
        f"{who} replied while you were writing. Read it, then send again if you still need to.",
        newer=newer,
    )


def _show_in_shared_inboxes(user: User, personal: Conversation, message: Message) -> None:
    """A reply from a personal inbox answers the contact for the whole team: every shared
    inbox of the team whose conversation with them awaits a reply shows who answered and what,
    and (unless that inbox says otherwise) stops waiting for a reply."""
    waiting = Conversation.objects.select_for_update().filter(
        contact_id=personal.contact_id,
        inbox__team_id=personal.inbox.team_id,
        inbox__kind=Inbox.Kind.SHARED,
        needs_reply=True,
        closed_at__isnull=True,
    )
    for shared in waiting.select_related("inbox"):
        Note.objects.create(
            conversation=shared,
            kind=Note.Kind.PERSONAL_REPLY,
            author=user,
            body=message.body,
            message=message,
        )
        if shared.inbox.personal_replies_clear_unreplied:
            shared.needs_reply = False
            shared.save(update_fields=["needs_reply"])
        publish("note", inbox_id=shared.inbox_id, conversation_id=shared.pk)


def start_conversation(
    user: User, inbox: Inbox, raw_number: str, body: str, *, outside_hours_ok: bool = False
) -> Message:
    """Text a number from ``inbox``: finds or creates the contact and conversation, then
    queues the message. Nothing is created when the number or the body is refused, nor (unless
    ``outside_hours_ok``) when it is outside the inbox's sending hours in their time."""
    body = clean_body(body)
    try:
        number = textable_e164(raw_number)
    except InvalidPhoneNumber as e:
        raise SendRefused(str(e), field="number") from None
    if not can_access_inbox(user, inbox):
        raise SendRefused("You do not have access to this inbox.", field=None)
    phone_number = inbox.phone_numbers.order_by("created_at", "id").first()
    if phone_number is None:
        raise SendRefused("This inbox has no phone number to send from yet.", field=None)
    if PhoneNumber.objects.filter(number=number).exists():
        raise SendRefused("That is one of our own numbers.", field="number")
    with transaction.atomic():
        contact, created = Contact.objects.get_or_create(team_id=inbox.team_id, phone=number)
        if created:
            keep_earlier_opt_outs([contact])
        conversation = _get_or_create_conversation(inbox, contact, phone_number)
        if not outside_hours_ok:
            _check_sending_hours(inbox, contact, conversation)
        return send_reply(user, conversation, body)


def _check_sending_hours(inbox: Inbox, contact: Contact, conversation: Conversation) -> None:
    """Quiet hours hold texts nobody asked for just now: a first text at 11 pm their time
    needs the sender to say "send anyway". Someone who texted in the last day is answered."""
    if not settings.QUIET_HOURS_FOR_FIRST_TEXTS:
        return
    now = clock.now()
    recent = now - timedelta(hours=JUST_TEXTED_HOURS)
    if conversation.last_inbound_at is not None and conversation.last_inbound_at >= recent:
        return
    zone = contact.effective_time_zone
    if is_open(now, ZoneInfo(zone), inbox.window_start, inbox.window_end):
        return
    local = now.astimezone(ZoneInfo(zone))
    raise OutsideQuietHours(
        f"It is {local:%-I:%M %p} for them ({zone}), outside {inbox.name}'s sending hours "
        f"({inbox.window_start:%-I:%M %p} to {inbox.window_end:%-I:%M %p} their time). "
        "Send it anyway only if they expect it now; otherwise try again later."
    )


def reply_did_not_arrive(message: Message) -> None:
    """An answer that never reached the contact is no answer: every conversation it took out
    of the unreplied queue (its own, and shared ones it was shown in) waits again, unless
    something else answered the contact since their last text."""
    with transaction.atomic():
        shared_ids = Note.objects.filter(
            kind=Note.Kind.PERSONAL_REPLY, message=message
        ).values_list("conversation_id", flat=True)
        for conversation_id in [message.conversation_id, *shared_ids]:
            conversation = _locked(Conversation(pk=conversation_id))
            if conversation.needs_reply or conversation.is_closed:
                continue
            if not _answered_since_last_text(conversation):
                conversation.needs_reply = True
                conversation.save(update_fields=["needs_reply"])
                _changed(conversation)


def _answered_since_last_text(conversation: Conversation) -> bool:
    if conversation.last_inbound_at is None:
        return True  # we wrote first; there is nothing to answer
    not_failed = ~Q(status__in=[MessageStatus.FAILED, MessageStatus.UNDELIVERED])
    since = conversation.last_inbound_at
    replied = conversation.messages.filter(
        not_failed, direction=Message.Direction.OUTBOUND, created_at__gte=since
    )
    answered_elsewhere = conversation.notes.filter(
        Q(message__isnull=True)
        | ~Q(message__status__in=[MessageStatus.FAILED, MessageStatus.UNDELIVERED]),
        kind=Note.Kind.PERSONAL_REPLY,
        created_at__gte=since,
    )
    return replied.exists() or answered_elsewhere.exists()


# --- Triage ----------------------------------------------------------------------------------


def _event_note(conversation: Conversation, user: User, text: str) -> None:
    Note.objects.create(conversation=conversation, kind=Note.Kind.EVENT, author=user, body=text)


def _changed(conversation: Conversation, kind: str = "conversation") -> None:
    publish(kind, inbox_id=conversation.inbox_id, conversation_id=conversation.pk)


def _check_access(user: User, conversation: Conversation) -> None:
    if not can_access_inbox(user, conversation.inbox):
        raise PermissionDenied("You do not have access to this inbox.")


@transaction.atomic
def mark_no_reply_needed(user: User, conversation: Conversation) -> None:
    """Out of the unreplied queue without a text: "Thanks!" needs no answer."""
    _check_access(user, conversation)
    conversation = _locked(conversation)
    if not conversation.needs_reply:
        return
    conversation.needs_reply = False
    conversation.save(update_fields=["needs_reply"])
    _event_note(conversation, user, f"{user.display_name} marked this as needing no reply.")
    _changed(conversation)


@transaction.atomic
def close(user: User, conversation: Conversation) -> None:
    """Done with it: it leaves the open lists (a new text from the contact reopens it)."""
    _check_access(user, conversation)
    conversation = _locked(conversation)
    if conversation.is_closed:
        return
    conversation.closed_at = clock.now()
    conversation.needs_reply = False
    conversation.save(update_fields=["closed_at", "needs_reply"])
    _event_note(conversation, user, f"{user.display_name} closed the conversation.")
    _changed(conversation)


@transaction.atomic
def reopen(user: User, conversation: Conversation) -> None:
    _check_access(user, conversation)
    conversation = _locked(conversation)
    if not conversation.is_closed:
        return
    conversation.closed_at = None
    newest = conversation.messages.order_by("-created_at", "-id").first()
    conversation.needs_reply = newest is not None and newest.is_inbound
    conversation.save(update_fields=["closed_at", "needs_reply"])
    _event_note(conversation, user, f"{user.display_name} reopened the conversation.")
    _changed(conversation)


@transaction.atomic
def assign(user: User, conversation: Conversation, assignee: User | None) -> None:
    """Make ``assignee`` (someone who may work in the inbox) responsible, or nobody."""
    _check_access(user, conversation)
    if (
        assignee is not None
        and not inbox_members(conversation.inbox).filter(pk=assignee.pk).exists()
    ):
        raise SendRefused(f"{assignee.display_name} cannot work in this inbox.", field="assignee")
    conversation = _locked(conversation)
    if conversation.assigned_to_id == (assignee.pk if assignee else None):
        return
    conversation.assigned_to = assignee
    conversation.save(update_fields=["assigned_to"])
    if assignee is None:
        _event_note(conversation, user, f"{user.display_name} unassigned the conversation.")
    else:
        _event_note(
            conversation, user, f"{user.display_name} assigned this to {assignee.display_name}."
        )
        if assignee.pk != user.pk:
            publish(
                "notice",
                user_id=assignee.pk,
                inbox_id=None,
                conversation_id=conversation.pk,
                text=f"{user.display_name} assigned you a conversation.",
                url=conversation_url(conversation),
            )
    _changed(conversation)


MENTION = re.compile(r"(?<![\w@])@([\w.+-]+)")
MAX_NOTE_LENGTH = 5000


def mentioned_users(conversation: Conversation, body: str) -> list[User]:
    """Users named as @username in ``body`` who may see the conversation (others are ignored:
    mentioning someone must never show them an inbox they cannot open)."""
    names = {name.rstrip(".").lower() for name in MENTION.findall(body)}
    if not names:
        return []
    return [u for u in inbox_members(conversation.inbox) if u.username.lower() in names]


@transaction.atomic
def add_note(user: User, conversation: Conversation, body: str) -> Note:
    """An internal note for the team; it is never sent to the contact. @mentions notify."""
    _check_access(user, conversation)
    body = body.strip()
    if not body:
        raise SendRefused("Write a note first.")
    if len(body) > MAX_NOTE_LENGTH:
        raise SendRefused(f"Notes are limited to {MAX_NOTE_LENGTH:,} characters.")
    conversation = _locked(conversation)
    note = Note.objects.create(
        conversation=conversation, kind=Note.Kind.NOTE, author=user, body=body
    )
    mentioned = mentioned_users(conversation, body)
    note.mentions.set(mentioned)
    for person in mentioned:
        if person.pk != user.pk:
            publish(
                "notice",
                user_id=person.pk,
                conversation_id=conversation.pk,
                text=f"{user.display_name} mentioned you in a note.",
                url=conversation_url(conversation),
            )
    _changed(conversation, "note")
    return note


def mark_read(user: User, conversation: Conversation) -> None:
    """The user has seen everything in the conversation up to now; their unread counts, in
    their other pages too, drop when this changes them."""
    now = timezone.now()
    read, created = ConversationRead.objects.get_or_create(
        conversation=conversation, user=user, defaults={"read_at": now}
    )
    was_unread = conversation.last_inbound_at is not None and (
        created or read.read_at < conversation.last_inbound_at
    )
    if not created:
        ConversationRead.objects.filter(pk=read.pk).update(read_at=now)
    if was_unread:
        publish("read", user_id=user.pk, conversation_id=conversation.pk)


def conversation_url(conversation: Conversation) -> str:
    return reverse("conversation", args=[conversation.inbox_id, conversation.pk])
