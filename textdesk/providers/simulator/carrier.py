"""The simulated carrier's side of things: texts from its phones, and delivery receipts."""

from django.db import transaction
from django.utils import timezone

from textdesk.conversations.actions import Received, receive_inbound
from textdesk.messaging.actions import apply_status_report
from textdesk.messaging.status import MessageStatus
from textdesk.phones import textable_e164
from textdesk.providers.base import InboundSms, StatusReport
from textdesk.providers.names import ProviderName
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.providers.simulator.provider import UNREACHABLE_CODE

RECEIPT_BATCH = 100


def text_from_handset(sms: InboundSms) -> Received:
    """A simulated phone texts an inbox: the carrier keeps its copy, Textdesk receives it
    through the same code as a Twilio webhook. Both or neither are stored."""
    handset = textable_e164(sms.from_number)
    with transaction.atomic():
        received = receive_inbound(ProviderName.SIMULATOR, sms)
        CarrierMessage.objects.create(
            sid=sms.provider_message_id,
            handset=handset,
            service_number=received.message.our_number,
            direction=CarrierMessage.Direction.FROM_HANDSET,
            body=sms.body,
            media_urls=list(sms.media_urls),
        )
    return received


def report_due_receipts(limit: int = RECEIPT_BATCH) -> int:
    """Report the delivery receipts whose time has come; returns how many were reported."""
    now = timezone.now()
    due = list(
        CarrierMessage.objects.filter(
            receipt_sent_at__isnull=True, receipt_due_at__lte=now
        ).order_by("receipt_due_at", "id")[:limit]
    )
    reported = 0
    for carrier_message in due:
        delivered = carrier_message.planned_outcome == CarrierMessage.Outcome.DELIVERED
        with transaction.atomic():
            # Claim the receipt in the same transaction that reports it: two workers never
            # report it twice, and a crash in between reports it later rather than never.
            claimed = CarrierMessage.objects.filter(
                pk=carrier_message.pk, receipt_sent_at__isnull=True
            ).update(receipt_sent_at=now)
            if not claimed:
                continue
            apply_status_report(
                ProviderName.SIMULATOR,
                StatusReport(
                    provider_message_id=carrier_message.sid,
                    status=MessageStatus.DELIVERED if delivered else MessageStatus.UNDELIVERED,
                    error_code="" if delivered else UNREACHABLE_CODE,
                    message_id=carrier_message.message_id,
                ),
            )
        reported += 1
    return reported
