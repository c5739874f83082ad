"""Storing images for MMS: files staff upload for replies and compose, and files fetched from the
provider for inbound MMS (``fetch.py``), both through ``store_chunks``.

Only JPEG, PNG and GIF up to Twilio's 5 MB are kept, decided by the file's first bytes. A file is
written to a temporary name and renamed into place in the same transaction that creates its row,
so a refused or failed store leaves neither a file nor a row behind.
"""

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse

from textdesk.accounts.models import Team, User
from textdesk.media.models import (
    CARRIER_FRIENDLY_BYTES,
    MAX_MEDIA_BYTES,
    MediaType,
    StoredMedia,
    file_path,
    new_token,
)

__all__ = [
    "CARRIER_FRIENDLY_BYTES",
    "MAX_MEDIA_BYTES",
    "MediaRefused",
    "public_url",
    "safe_filename",
    "sniff_media_type",
    "store_chunks",
    "store_upload",
]

# Signatures of the accepted types: https://mimesniff.spec.whatwg.org/#matching-an-image-type-pattern
SIGNATURES: tuple[tuple[bytes, MediaType], ...] = (
    (b"\xff\xd8\xff", MediaType.JPEG),
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
    (b"GIF87a", MediaType.GIF),
    (b"GIF89a", MediaType.GIF),
)
SNIFF_BYTES = max(len(signature) for signature, _ in SIGNATURES)
EXTENSIONS = {MediaType.JPEG: "jpg", MediaType.PNG: "png", MediaType.GIF: "gif"}
MAX_STEM_LENGTH = 80
# Files are staged here, on the same file system as their final place, so the rename is atomic.
STAGING_DIRECTORY = ".incoming"


class MediaRefused(Exception):
    """A file we will not store, with a message fit to show to the user.

    ``retryable`` says whether trying again later may succeed (a fetch that timed out, a
    provider answering 5xx) or never will (wrong type, too large, a refused address);
    ``code`` is a short machine-readable reason for logs and callers."""

    def __init__(self, message: str, *, retryable: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code


def sniff_media_type(head: bytes) -> MediaType | None:
    """The accepted type a file's first bytes announce, or None."""
    for signature, media_type in SIGNATURES:
        if head.startswith(signature):
            return media_type
    return None


def safe_filename(name: str, media_type: str) -> str:
    """A filename for the public URL made from what the user or provider called the file: no
    directories, ASCII letters, digits, ``-`` and ``_`` only, and the extension of the type the
    contents really are (so ``report.html.png`` cannot pass for anything but a PNG)."""
    base = re.split(r"[\\/]", name)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:MAX_STEM_LENGTH].strip("-_")
    return f"{stem or 'image'}.{EXTENSIONS[MediaType(media_type)]}"


def too_large() -> MediaRefused:
    limit = MAX_MEDIA_BYTES // (1024 * 1024)
    return MediaRefused(
        f"Images can be at most {limit} MB (the most MMS providers accept); this one is larger.",
        code="too-large",
    )


def store_upload(team: Team, uploaded_file: UploadedFile, user: User | None) -> StoredMedia:
    """Store an image a user attached to a reply or compose, or raise MediaRefused."""
    if uploaded_file.size is not None and uploaded_file.size > MAX_MEDIA_BYTES:
        raise too_large()  # refused before reading a byte of it
    return store_chunks(team, uploaded_file.chunks(), name=uploaded_file.name or "", user=user)


def store_chunks(
    team: Team,
    chunks: Iterable[bytes],
    *,
    name: str,
    user: User | None = None,
    source_url: str = "",
) -> StoredMedia:
    """Store a file arriving in pieces, refusing it (MediaRefused) as soon as the pieces show it
    is not an accepted image or is over the limit, so an unwanted download is cut short.

    The row and the rename into place share one transaction. If an enclosing transaction of
    the caller rolls back later, the file stays on disk without a row: unreachable, because
    only a row makes its URL work, and harmless.
    """
    staging = Path(settings.MEDIA_ROOT) / STAGING_DIRECTORY
    staging.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(dir=staging, prefix="upload-")
    temp = Path(temp_name)
    final: Path | None = None
    try:
        with os.fdopen(descriptor, "wb") as out:
            size, media_type = _copy_checked(chunks, out)
            out.flush()
            os.fsync(out.fileno())
        with transaction.atomic():
            media = StoredMedia.objects.create(
                team=team,
                token=new_token(),
                filename=safe_filename(name, media_type),
                content_type=media_type,
                size=size,
                created_by=user,
                source_url=source_url,
            )
            final = file_path(media.token)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)  # renamed, but the row did not commit
        raise
    return media


def _copy_checked(chunks: Iterable[bytes], out: BinaryIO) -> tuple[int, MediaType]:
    """Copy ``chunks`` to ``out``; return the size and type, or raise MediaRefused."""
    size = 0
    head = b""
    media_type: MediaType | None = None
    for chunk in chunks:
        if not chunk:
            continue
        size += len(chunk)
        if size > MAX_MEDIA_BYTES:
            raise too_large()
        if media_type is None:
            head = (head + chunk)[:SNIFF_BYTES]
            if len(head) >= SNIFF_BYTES:
                media_type = _accepted_type(head)
        out.write(chunk)
    if size == 0:
        raise MediaRefused("The file is empty.", code="empty")
    return size, media_type or _accepted_type(head)


def _accepted_type(head: bytes) -> MediaType:
    media_type = sniff_media_type(head)
    if media_type is None:
        raise MediaRefused("Only JPEG, PNG and GIF images can be attached.", code="type")
    return media_type


def public_url(media: StoredMedia) -> str:
    """The address at which the provider (and anyone holding it) fetches the file."""
    path = reverse("media_file", kwargs={"token": media.token, "filename": media.filename})
    return settings.TEXTDESK_PUBLIC_URL + path
