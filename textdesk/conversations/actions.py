"""Writes that matter in conversations: receiving a text, replying, starting a conversation.

Views, webhooks, the simulator and tests all call these functions; each runs in one
transaction, so a failure leaves nothing half-written.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from textdesk.accounts.models import User
from textdesk.contacts.models import Contact
from textdesk.conversations.models import MAX_BODY_LENGTH, Conversation, Message
from textdesk.inboxes.models import Inbox, PhoneNumber
from textdesk.inboxes.queries import can_access_inbox
from textdesk.live.events import publish
from textdesk.messaging.encoding import analyze_sms
from textdesk.messaging.status import MessageStatus
from textdesk.phones import InvalidPhoneNumber, textable_e164, to_e164
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
        contact = _get_or_create_contact(inbox, sender)
        conversation = _locked(_get_or_create_conversation(inbox, contact, phone_number))
        analysis = analyze_sms(sms.body)
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    conversation=conversation,
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
        _record_activity(conversation, message, needs_reply=True, phone_number=phone_number)
        announce_message(message, conversation)
    logger.info("Received message %s in inbox %s", message.pk, inbox.pk)
    return Received(message, created=True)


def _locked(conversation: Conversation) -> Conversation:
    """The conversation, re-read with its row locked until the transaction ends.

    Every action that adds a message takes this lock first, so messages get their timestamps
    in the order their transactions commit and the list fields (``needs_reply``, ``preview``)
    always describe the newest message: a reply committing late can never hide a text that
    arrived meanwhile. (SQLite's IMMEDIATE transactions already serialize all writers.)
    """
    return (
        Conversation.objects.select_for_update()
        .select_related("inbox", "phone_number")
        .get(pk=conversation.pk)
    )


def _get_or_create_contact(inbox: Inbox, phone: str) -> Contact:
    contact, _ = Contact.objects.get_or_create(team_id=inbox.team_id, phone=phone)
    return contact


def _get_or_create_conversation(
    inbox: Inbox, contact: Contact, phone_number: PhoneNumber
) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        inbox=inbox, contact=contact, defaults={"phone_number": phone_number}
    )
    return conversation


def clean_body(body: str) -> str:
    """The body of an outgoing text, or SendRefused with what is wrong with it."""
    if not body or not body.strip():
        raise SendRefused("Write a message first.")
    if len(body) > MAX_BODY_LENGTH:
        raise SendRefused(
            f"That message is {len(body):,} characters long; the limit is {MAX_BODY_LENGTH:,}."
        )
    return body


def send_reply(user: User, conversation: Conversation, body: str) -> Message:
    """Queue a reply from ``user`` in ``conversation``; the worker hands it to the provider.

    The message row is the outbox entry, written in the same transaction as the conversation
    update, so a reply is never lost between "saved" and "queued".
    """
    body = clean_body(body)
    if not can_access_inbox(user, conversation.inbox):
        raise SendRefused("You do not have access to this inbox.", field=None)
    analysis = analyze_sms(body)
    with transaction.atomic():
        conversation = _locked(conversation)
        phone_number = conversation.phone_number
        message = Message.objects.create(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            body=body,
            status=MessageStatus.QUEUED,
            our_number=phone_number.number,
            provider=phone_number.provider,
            sent_by=user,
            encoding=analysis.encoding.value,
            segments=analysis.segments,
            next_attempt_at=timezone.now(),
        )
        _record_activity(conversation, message, needs_reply=False)
        announce_message(message, conversation)
    logger.info("Queued message %s from user %s", message.pk, user.pk)
    return message


def start_conversation(user: User, inbox: Inbox, raw_number: str, body: str) -> Message:
    """Text a number from ``inbox``: finds or creates the contact and conversation, then
    queues the message. Nothing is created when the number or the body is refused."""
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
        contact = _get_or_create_contact(inbox, number)
        conversation = _get_or_create_conversation(inbox, contact, phone_number)
        return send_reply(user, conversation, body)
