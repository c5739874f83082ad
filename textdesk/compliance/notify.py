"""Email notifications to the addresses a team chose: queued with the change they tell about,
sent by the worker (retried with backoff when the mail server is away)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from textdesk.accounts.models import Team
from textdesk.compliance.models import EmailNotification
from textdesk.core import clock

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
PER_ROUND = 20


def notify_team(team: Team, subject: str, body: str) -> EmailNotification | None:
    addresses = team.notify_addresses
    if not addresses:
        return None
    now = clock.now()
    return EmailNotification.objects.create(
        to=addresses,
        subject=f"[Textdesk · {team.name}] {subject}"[:200],
        body=body,
        created_at=now,
        next_attempt_at=now,
    )


def send_due_emails() -> int:
    """One round: send what is due; returns how many were tried."""
    now = clock.now()
    due = list(
        EmailNotification.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:PER_ROUND]
    )
    for pk in due:
        with transaction.atomic():
            # Claimed by moving its next attempt on: another worker skips it meanwhile.
            claimed = EmailNotification.objects.filter(
                pk=pk, sent_at__isnull=True, next_attempt_at__lte=now
            ).update(next_attempt_at=now + timedelta(minutes=5))
        if not claimed:
            continue
        email = EmailNotification.objects.get(pk=pk)
        try:
            send_mail(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, email.to)
        except Exception as e:  # a mail server can fail in many ways; all are "try later"
            attempts = email.attempts + 1
            EmailNotification.objects.filter(pk=pk).update(
                attempts=attempts,
                error=str(e)[:255],
                # After the last attempt it stays unsent, with its error, for an admin to see.
                next_attempt_at=(
                    None if attempts >= MAX_ATTEMPTS else now + timedelta(minutes=2**attempts)
                ),
            )
            logger.warning("Email %s not sent (attempt %s): %s", pk, attempts, e)
            continue
        EmailNotification.objects.filter(pk=pk).update(
            sent_at=clock.now(), attempts=email.attempts + 1, error=""
        )
    return len(due)
