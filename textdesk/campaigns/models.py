from django.conf import settings
from django.db import models

from textdesk.accounts.models import Team
from textdesk.contacts.models import Contact, Segment
from textdesk.inboxes.models import Inbox, PhoneNumber


class MessageTemplate(models.Model):
    """A team's reusable text, with merge fields such as {first_name|there}."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="message_templates")
    name = models.CharField(max_length=100)
    body = models.TextField(max_length=1600)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="template_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Send(models.Model):
    """A text to many: an audience (segments, with exclusions), a message with merge fields,
    a sender number, and when. Its recipients become queued messages in batches, in the same
    transactions that record how far the expansion got, while earlier ones are already going
    out (see expansion.py)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        DONE = "done", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    class OutsideWindow(models.TextChoices):
        WAIT = "wait", "Wait until their window opens"
        SKIP = "skip", "Skip them"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="sends")
    inbox = models.ForeignKey(Inbox, on_delete=models.PROTECT, related_name="sends")
    phone_number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="sends")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=120)
    body = models.TextField(max_length=1600, blank=True)
    media_urls = models.JSONField(default=list, blank=True)
    segments = models.ManyToManyField(Segment, related_name="sends")
    excluded_segments = models.ManyToManyField(Segment, blank=True, related_name="+")
    # An invitation (or reminder) for an event: each recipient gets an open invitation to it.
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="sends"
    )
    outside_window = models.CharField(
        max_length=8, choices=OutsideWindow.choices, default=OutsideWindow.WAIT
    )
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    scheduled_at = models.DateTimeField(help_text="When sending starts.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Expansion: recipients are taken in contact-id order; this is how far it got.
    expanded_through = models.BigIntegerField(default=0)
    expansion_done = models.BooleanField(default=False)
    fair_base = models.BigIntegerField(
        default=0, help_text="Its first place in the number's queue."
    )
    planned_recipients = models.PositiveIntegerField(default=0)
    queued_count = models.PositiveIntegerField(default=0)
    excluded = models.JSONField(default=dict, blank=True, help_text="Reason -> how many.")
    estimated_finish_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.SENDING, self.Status.PAUSED)


class SendExclusion(models.Model):
    """A contact of the audience who was not texted, and why (shown in the report)."""

    class Reason(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out"
        INVALID_NUMBER = "invalid_number", "Number cannot get texts"
        MISSING_MERGE_VALUE = "missing_value", "No value for a merge field"
        OUTSIDE_WINDOW = "outside_window", "Outside their sending window"
        TOO_LONG = "too_long", "Over 1,600 characters once filled in"

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="exclusions")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["send", "contact"], name="exclusion_unique_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.reason}"
