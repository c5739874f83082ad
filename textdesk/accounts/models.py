from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from textdesk.core.zones import is_zone


def validate_time_zone(value: str) -> None:
    if not is_zone(value):
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/New_York).")


def default_time_zone() -> str:
    return settings.TEXTDESK_DEFAULT_TIME_ZONE


class User(AbstractUser):
    """A person who signs in. Kept as our own model so that fields can be added later."""

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


DEFAULT_OPT_OUT_REPLY = (
    "You're unsubscribed and will get no more texts from us. Reply START to opt back in."
)
DEFAULT_OPT_IN_REPLY = "You're subscribed again. Reply STOP to opt out, HELP for help."
DEFAULT_HELP_REPLY = "Reply STOP to opt out. To reach us, reply here and a person will answer."


class Team(models.Model):
    """A department (admissions, financial aid, ...) that owns inboxes and contacts."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Pages show times in this zone.",
    )
    members = models.ManyToManyField(User, through="Membership", related_name="teams")
    # What goes back to a keyword (no marketing: carriers require these to be plain).
    opt_out_reply = models.CharField(
        max_length=320,
        default=DEFAULT_OPT_OUT_REPLY,
        db_default=DEFAULT_OPT_OUT_REPLY,
        help_text="Sent once when someone opts out (STOP). No marketing.",
    )
    opt_in_reply = models.CharField(
        max_length=320,
        default=DEFAULT_OPT_IN_REPLY,
        db_default=DEFAULT_OPT_IN_REPLY,
        help_text="Sent when someone who had opted out opts back in (START).",
    )
    help_reply = models.CharField(
        max_length=320,
        default=DEFAULT_HELP_REPLY,
        db_default=DEFAULT_HELP_REPLY,
        help_text="Sent to HELP or INFO: who you are and how to reach a person.",
    )
    notify_emails = models.CharField(
        max_length=500,
        blank=True,
        db_default="",
        help_text="Addresses (comma-separated) told of opt-outs, opt-ins and texts from unknown "
        "numbers.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def notify_addresses(self) -> list[str]:
        return [a.strip() for a in self.notify_emails.split(",") if a.strip()]


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"
