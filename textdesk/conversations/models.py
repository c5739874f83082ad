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

    ``last_message_at``, ``last_inbound_at``, ``needs_reply`` and ``preview`` are kept up to
    date by the actions that add messages, so that the inbox list is one indexed query however
    long it grows. A conversation *needs a reply* when its newest message is inbound, until
    someone answers it, marks it as needing no reply, or closes it.
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
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["inbox", "contact"], name="conversation_unique_inbox_contact"
            ),
        ]
        # One index per list filter, each in the order the list shows.
        indexes = [
            models.Index(
                fields=["inbox", "-last_message_at", "-id"],
                condition=Q(closed_at__isnull=True),
                name="conv_inbox_open",
            ),
            models.Index(
                fields=["inbox", "-last_message_at", "-id"],
                condition=Q(needs_reply=True, closed_at__isnull=True),
                name="conv_inbox_unreplied",
            ),
            models.Index(
                fields=["inbox", "-last_message_at", "-id"],
                condition=Q(closed_at__isnull=False),
                name="conv_inbox_closed",
            ),
            models.Index(
                fields=["assigned_to", "inbox", "-last_message_at", "-id"],
                condition=Q(closed_at__isnull=True),
                name="conv_assignee_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} in {self.inbox}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


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

    class Compliance(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out"
        OPT_IN = "opt_in", "Opted back in"
        HELP = "help", "Asked for help"
        POSSIBLE_OPT_OUT = "possible_opt_out", "May be asking to opt out"
        CONFIRMED_OPT_OUT = "confirmed_opt_out", "Opt-out confirmed by staff"
        NOT_OPT_OUT = "not_opt_out", "Not an opt-out"
        OPT_OUT_REPLY = "opt_out_reply", "Opt-out confirmation"
        OPT_IN_REPLY = "opt_in_reply", "Opt-in confirmation"
        HELP_REPLY = "help_reply", "Help answer"

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
    # Set when a worker starts handing the message to the provider and cleared once the
    # outcome is known. Still set on a queued message means "the provider may have it" (a
    # crash, a timeout): the next attempt looks it up at the provider before sending again.
    handoff_started_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    # The recipient's time zone, for bulk texts held to the sending window.
    local_zone = models.CharField(max_length=64, blank=True)
    # Bulk sends: the send it belongs to, its place in the number's fair queue (sends on one
    # number take turns), and its cost in segments of throughput. Replies (priority 0) go
    # before any bulk message (priority 1).
    send = models.ForeignKey(
        "campaigns.Send", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    priority = models.PositiveSmallIntegerField(default=0)
    fair_rank = models.BigIntegerField(default=0)
    cost = models.FloatField(default=1.0)
    # Consent: what an inbound text did (a keyword) or may mean (reads as a revocation), and
    # which automatic answer an outbound one is.
    # A text from someone with an open invitation: the event it is (probably) about.
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    compliance = models.CharField(
        max_length=24, choices=Compliance.choices, blank=True, default="", db_default=""
    )

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
            models.Index(
                fields=["our_number", "priority", "fair_rank", "id"],
                condition=Q(status=MessageStatus.QUEUED),
                name="msg_outbox_fair",
            ),
            models.Index(fields=["send", "status"], name="msg_send_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.status}: {self.body[:40]}"

    @property
    def is_inbound(self) -> bool:
        return self.direction == self.Direction.INBOUND


class Note(models.Model):
    """Something in a conversation's timeline that is never sent to the contact: an internal
    note (with @mentions), a reply someone sent from their personal inbox, or a record of what
    happened (closed, assigned, taken over)."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        PERSONAL_REPLY = "personal_reply", "Answered from a personal inbox"
        EVENT = "event", "Event"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    message = models.ForeignKey(
        Message,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="For a personal-inbox reply: the message that was sent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at", "id"], name="note_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.body[:40]}"


class ConversationRead(models.Model):
    """When a user last looked at a conversation: newer inbound texts are unread for them."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="read_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} at {self.read_at}"


class ConversationLock(models.Model):
    """Who is answering a conversation: a lease, valid while both of these are in the future.

    - ``expires_at``: the holder's last activity (typing, clicking, focusing the tab) plus the
      inbox's idle timeout;
    - ``present_until``: the holder's last heartbeat from any open tab plus a short grace, so a
      closed laptop or a dead connection lets go soon, while a reconnect within the grace keeps it.

    A row whose lease has run out is as good as no row; the worker deletes such rows and tells
    the pages.
    """

    conversation = models.OneToOneField(
        Conversation, primary_key=True, on_delete=models.CASCADE, related_name="lock"
    )
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    present_until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.conversation_id} held by {self.holder_id}"


class LockPresence(models.Model):
    """One open page (a browser tab) showing a conversation; its heartbeats keep it fresh."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tab = models.CharField(max_length=64)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "user", "tab"], name="presence_unique_tab"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.conversation_id} ({self.tab})"


class PendingAttachment(models.Model):
    """An inbound MMS picture still at the provider: the worker fetches it into our storage
    (refusing private addresses) and points the message at our own copy."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    source_url = models.URLField(max_length=2000)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="attachment_unique_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id}[{self.position}]"
