from django.db import models
from django.db.models import Q


class CarrierMessage(models.Model):
    """The simulated carrier's own record of a text: what a real phone would have sent or
    received. Textdesk's messages live in the conversations app; these are the other side."""

    class Direction(models.TextChoices):
        TO_HANDSET = "mt", "To the handset"
        FROM_HANDSET = "mo", "From the handset"

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"

    sid = models.CharField(max_length=64, unique=True)
    # Textdesk's id for a text it sent, so the receipt finds its message even if it is
    # reported before the worker has stored this sid.
    message_id = models.BigIntegerField(null=True, blank=True)
    handset = models.CharField(max_length=16, help_text="The simulated phone's number.")
    service_number = models.CharField(max_length=16, help_text="The inbox number.")
    direction = models.CharField(max_length=2, choices=Direction.choices)
    body = models.TextField(blank=True)
    media_urls = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # For texts to the handset: the receipt the carrier will report, and when.
    planned_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    receipt_due_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["handset", "service_number", "created_at"], name="carrier_thread"),
            models.Index(
                fields=["receipt_due_at"],
                condition=Q(receipt_sent_at__isnull=True, receipt_due_at__isnull=False),
                name="carrier_receipt_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.handset}: {self.body[:40]}"
