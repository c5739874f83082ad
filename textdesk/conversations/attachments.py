"""Pictures on texts: attaching an upload to a reply, and fetching inbound MMS pictures.

Inbound pictures are fetched by the worker, not in the webhook: the provider waits for the
webhook's answer, and a slow or hostile media host must not hold it (or reach our network:
``fetch_remote`` refuses private and link-local addresses).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from textdesk.conversations.models import Message, PendingAttachment
from textdesk.live.events import publish
from textdesk.media.fetch import fetch_remote
from textdesk.media.storage import MediaRefused, public_url
from textdesk.providers.names import ProviderName

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
CLAIM_SECONDS = 120
BATCH = 10


def queue_inbound_media(message: Message) -> None:
    """Called in the transaction that stores an inbound message."""
    now = timezone.now()
    PendingAttachment.objects.bulk_create(
        [
            PendingAttachment(message=message, position=i, source_url=url, next_attempt_at=now)
            for i, url in enumerate(message.media_urls)
        ]
    )


def is_ours(url: str) -> bool:
    """Whether a media URL points at our own storage (shown inline) or elsewhere (linked)."""
    return url.startswith(f"{settings.TEXTDESK_PUBLIC_URL}/m/")


def fetch_due_attachments() -> int:
    now = timezone.now()
    due = list(
        PendingAttachment.objects.filter(next_attempt_at__lte=now).order_by("next_attempt_at")[
            :BATCH
        ]
    )
    done = 0
    for attachment in due:
        # Claim it: push its next attempt out; only one worker can move it from this value.
        claimed = PendingAttachment.objects.filter(
            pk=attachment.pk, next_attempt_at=attachment.next_attempt_at
        ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1)
        if claimed:
            _fetch(attachment)
            done += 1
    return done


def _fetch(attachment: PendingAttachment) -> None:
    message = Message.objects.select_related("conversation__inbox").get(pk=attachment.message_id)
    auth = None
    if message.provider == ProviderName.TWILIO and settings.TWILIO_ACCOUNT_SID:
        auth = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    try:
        stored = fetch_remote(attachment.source_url, message.conversation.inbox.team, auth=auth)
    except MediaRefused as e:
        attempts = attachment.attempts + 1
        if e.retryable and attempts < MAX_ATTEMPTS:
            delay = timedelta(seconds=30 * 2**attempts)
            PendingAttachment.objects.filter(pk=attachment.pk).update(
                next_attempt_at=timezone.now() + delay, error=str(e.message)[:255]
            )
        else:
            # Given up: the message keeps the provider's link, and the reason is logged.
            logger.warning("Could not fetch %s: %s", attachment.source_url, e.message)
            attachment.delete()
        return
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        urls = list(message.media_urls)
        if attachment.position < len(urls):
            urls[attachment.position] = public_url(stored)
        Message.objects.filter(pk=message.pk).update(media_urls=urls)
        attachment.delete()
        conversation = message.conversation
        publish("attachment", inbox_id=conversation.inbox_id, conversation_id=conversation.pk)
