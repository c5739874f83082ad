from django.conf import settings
from django.db import models
from django.db.models import Q

from textdesk.contacts.models import Contact
from textdesk.inboxes.models import Inbox, PhoneNumber
from textdesk.messaging.status import MessageStatus
from textdesk.providers.names import ProviderName

# Twilio refuses bodies over 1,600 characters; we refuse them first, with a clearer message.
MAX_BODY_LENGTH = 1600


class Conversation(models.Model):
    """The thread between one inbox and one contact.

    ``last_message_at``, ``needs_reply`` and ``preview`` are kept up to date by the actions
    that add messages, so that the inbox list is one indexed query however long it grows.
    """

    inbox = models.ForeignKey(Inbox, on_delete=models.PROTECT, related_name="conversations")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="conversations")
    phone_number = models.ForeignKey(
        PhoneNumber,
        on_delete=models.PROTECT,
        related_name="conversations",
        help_text="Our number this contact texts with; replies go out from it.",
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    needs_reply = models.BooleanField(
        default=False, help_text="The newest message is inbound: someone should answer."
    )
    preview = models.CharField(max_length=160, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["inbox", "contact"], name="conversation_unique_inbox_contact"
            ),
        ]
        indexes = [
            models.Index(fields=["inbox", "-last_message_at", "-id"], name="conv_inbox_recent"),
            models.Index(
                fields=["inbox", "-last_message_at", "-id"],
                condition=Q(needs_reply=True),
                name="conv_inbox_unreplied",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} in {self.inbox}"


class Message(models.Model):
    """One text, in or out. An outbound message in status ``queued`` is our outbox entry: the
    worker claims it (``claimed_until``), hands it to the provider, and retries it at
    ``next_attempt_at`` when the provider says a retry may succeed."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    class Encoding(models.TextChoices):
        GSM7 = "GSM-7", "GSM-7"
        UCS2 = "UCS-2", "UCS-2"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.TextField(blank=True)
    media_urls = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=MessageStatus.choices)
    our_number = models.CharField(max_length=16, help_text="Our number it was sent from or to.")
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    # NULL, not "", until the provider names it: the unique constraint below skips NULLs.
    provider_message_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    error_code = models.CharField(max_length=16, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sent_messages",
    )
    encoding = models.CharField(max_length=8, choices=Encoding.choices)
    segments = models.PositiveSmallIntegerField()

    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="Handed to the provider.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    # The outbox.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The same provider message stored twice would show a text twice; this makes
            # duplicate (and concurrent) webhook deliveries harmless.
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                condition=Q(provider_message_id__isnull=False),
                name="message_unique_provider_id",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at", "id"], name="msg_thread"),
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status=MessageStatus.QUEUED),
                name="msg_outbox_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.status}: {self.body[:40]}"

    @property
    def is_inbound(self) -> bool:
        return self.direction == self.Direction.INBOUND
