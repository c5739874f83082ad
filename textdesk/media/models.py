import re
import secrets
from pathlib import Path

from django.conf import settings
from django.db import models

from textdesk.accounts.models import Team

# 128 random bits: the only thing standing between the public URL and a stranger, since the
# provider must fetch the file without signing in.
TOKEN_BYTES = 16
# Twilio accepts up to 5 MB per message; carriers deliver images beyond about 600 KB poorly
# (they recompress or drop them), so the pages warn above that.
MAX_MEDIA_BYTES = 5 * 1024 * 1024
CARRIER_FRIENDLY_BYTES = 600 * 1024


TOKEN_PATTERN = re.compile(r"[0-9a-f]{32,64}")


def new_token() -> str:
    return secrets.token_hex(TOKEN_BYTES)


class MediaType(models.TextChoices):
    """The image types every MMS carrier takes. Decided from a file's first bytes, never from
    its name or the type a browser or server claims."""

    JPEG = "image/jpeg", "JPEG"
    PNG = "image/png", "PNG"
    GIF = "image/gif", "GIF"


class StoredMedia(models.Model):
    """One image on disk: uploaded by staff for a reply or compose, or fetched from the provider
    for an inbound MMS. Immutable once stored, so it may be cached forever.

    The file lives under MEDIA_ROOT at a path made from the token alone; ``filename`` is only
    the last part of the public URL, cleaned so that it is safe there and on any file system.
    """

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="media")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    filename = models.CharField(max_length=100)
    content_type = models.CharField(max_length=32, choices=MediaType.choices)
    size = models.PositiveIntegerField(help_text="In bytes.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_url = models.URLField(
        max_length=2048, blank=True, help_text="Where an inbound file was fetched from."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "stored media"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.content_type}, {self.size} bytes)"

    @property
    def path(self) -> Path:
        return file_path(self.token)

    @property
    def is_large(self) -> bool:
        """Allowed, but bigger than carriers deliver well: the pages warn before sending it."""
        return self.size > CARRIER_FRIENDLY_BYTES


def file_path(token: str) -> Path:
    """Where a token's file lives. Two characters of fan-out keep directories small."""
    if not TOKEN_PATTERN.fullmatch(token):
        raise ValueError(f"Not a media token: {token!r}")
    return Path(settings.MEDIA_ROOT) / token[:2] / token
