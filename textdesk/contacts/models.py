from django.conf import settings
from django.db import models

from textdesk.accounts.models import Team
from textdesk.phones import pretty


class Contact(models.Model):
    """Someone a team texts with, known by their number (E.164); one per team and number."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="contacts")
    phone = models.CharField(max_length=16)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    fields = models.JSONField(
        default=dict, blank=True, help_text="Custom fields: student id, term, ..."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
        help_text="The staff member responsible for this contact (an admissions counselor, ...).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "phone"], name="contact_unique_team_phone"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        return self.full_name or pretty(self.phone)
