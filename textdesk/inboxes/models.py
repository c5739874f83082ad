from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from textdesk.accounts.models import Team
from textdesk.providers.names import ProviderName


class Inbox(models.Model):
    """Where a team's texts arrive and are answered from.

    A *shared* inbox belongs to a team and is worked by the users on its access list (and the
    team's admins). A *personal* inbox belongs to one user, within a team, and only they see it.
    """

    class Kind(models.TextChoices):
        SHARED = "shared", "Shared"
        PERSONAL = "personal", "Personal"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="inboxes")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="personal_inboxes",
        help_text="The one user of a personal inbox; empty for shared inboxes.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="InboxAccess",
        related_name="shared_inboxes",
        blank=True,
    )
    lock_idle_seconds = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(20), MaxValueValidator(3600)],
        help_text="A conversation's lock lets go after its holder is idle this long (seconds).",
    )
    personal_replies_clear_unreplied = models.BooleanField(
        default=True,
        help_text=(
            "When someone answers a contact from their personal inbox, take this inbox's "
            "conversation with them out of the unreplied queue (otherwise only show a note)."
        ),
    )
    # When bulk texts may go out, in each recipient's own local time (one-to-one replies to
    # someone who just texted are not held to it).
    window_start = models.TimeField(default=time(8, 0), help_text="Bulk texts from (local time).")
    window_end = models.TimeField(default=time(21, 0), help_text="Bulk texts until (local time).")
    evening_warning = models.TimeField(
        default=time(20, 0),
        help_text="Compose warns when a send would still be running after this (team time).",
    )
    footer = models.CharField(
        max_length=160,
        blank=True,
        default="",
        db_default="",
        help_text="Added at the end of every send from this inbox (opt-out wording, say), "
        "unless the text already ends with it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inboxes"
        ordering = ["team__name", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="inbox_unique_team_name"),
            models.CheckConstraint(
                condition=(
                    Q(kind="shared", owner__isnull=True) | Q(kind="personal", owner__isnull=False)
                ),
                name="inbox_owner_only_for_personal",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_personal(self) -> bool:
        return self.kind == self.Kind.PERSONAL

    def with_footer(self, body: str) -> str:
        """A send's text as it goes out from this inbox: with the footer, once."""
        footer = self.footer.strip()
        if not footer or body.rstrip().endswith(footer):
            return body
        return f"{body.rstrip()}\n{footer}" if body.strip() else footer


class InboxAccess(models.Model):
    """A user on a shared inbox's access list."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="access")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_access"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inbox access"
        constraints = [
            models.UniqueConstraint(fields=["inbox", "user"], name="inboxaccess_unique_inbox_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.inbox}"


class PhoneNumber(models.Model):
    """A number (E.164) that texts arrive at, on one inbox, sent through one provider."""

    number = models.CharField(max_length=16, unique=True)
    inbox = models.ForeignKey(Inbox, on_delete=models.PROTECT, related_name="phone_numbers")
    provider = models.CharField(max_length=16, choices=ProviderName.choices)
    # What the carrier lets this number send: a 10DLC long code is often 1-3 segments a
    # second, toll-free 3, a short code 100. A message costs one unit per SMS segment; an MMS
    # costs ``mms_cost``.
    segments_per_second = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.01), MaxValueValidator(1000)]
    )
    mms_cost = models.FloatField(
        default=3.0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="How many segments' worth of throughput one picture message uses.",
    )
    # The pacer: the earliest moment the number may hand its next message to the provider.
    # Workers reserve throughput by moving it forward with a conditional UPDATE, so every
    # worker, in every process, honours the same rate.
    next_free_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.number


class InboxSubscription(models.Model):
    """A user who wants a browser notification for every new text in an inbox."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="subscriptions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_subscriptions"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "user"], name="subscription_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.inbox}"
