from django.conf import settings
from django.db import models

from textdesk.accounts.models import Team


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
