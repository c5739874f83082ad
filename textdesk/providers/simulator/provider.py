"""The built-in carrier simulator: the default provider, so Textdesk works with no account.

Sending stores the text on the simulated carrier and plans its delivery receipt; the worker
reports due receipts through the same status code as Twilio's callbacks. Texts from the
simulated phones (the page at /simulator/) go through the same inbound code as Twilio's webhook.
"""

import random
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from textdesk.messaging.status import MessageStatus
from textdesk.phones import InvalidPhoneNumber, textable_e164
from textdesk.providers.base import (
    BadWebhook,
    InboundSms,
    OutgoingSms,
    Provider,
    ProviderError,
    SendResult,
    StatusReport,
)
from textdesk.providers.names import ProviderName
from textdesk.providers.simulator.models import CarrierMessage

# Error codes as Twilio reports them, so that pages and reports read the same either way.
INVALID_NUMBER_CODE = "21211"
UNREACHABLE_CODE = "30003"


def new_sid() -> str:
    return "SIM" + uuid.uuid4().hex


class SimulatorProvider(Provider):
    name = ProviderName.SIMULATOR

    def send(self, sms: OutgoingSms) -> SendResult:
        try:
            handset = textable_e164(sms.to_number)
        except InvalidPhoneNumber as e:
            raise ProviderError(str(e), retryable=False, code=INVALID_NUMBER_CODE) from None
        fails = random.random() < settings.SIMULATOR_FAILURE_RATE
        carrier_message = CarrierMessage.objects.create(
            sid=new_sid(),
            message_id=sms.message_id,
            handset=handset,
            service_number=sms.from_number,
            direction=CarrierMessage.Direction.TO_HANDSET,
            body=sms.body,
            media_urls=list(sms.media_urls),
            planned_outcome=(
                CarrierMessage.Outcome.UNDELIVERED if fails else CarrierMessage.Outcome.DELIVERED
            ),
            receipt_due_at=timezone.now()
            + timedelta(seconds=settings.SIMULATOR_RECEIPT_DELAY_SECONDS),
        )
        return SendResult(provider_message_id=carrier_message.sid, status=MessageStatus.SENT)

    def lookup(self, sms: OutgoingSms, since: datetime) -> SendResult | None:
        found = CarrierMessage.objects.filter(
            message_id=sms.message_id, direction=CarrierMessage.Direction.TO_HANDSET
        ).first()
        if found is None:
            return None
        return SendResult(provider_message_id=found.sid, status=MessageStatus.SENT)

    def verify_request(self, request: HttpRequest) -> bool:
        # The simulated phones are a page for signed-in users, not a carrier's webhook.
        return request.user.is_authenticated

    def parse_inbound(self, request: HttpRequest) -> InboundSms:
        """A text typed on a simulated phone (the phone page's form)."""
        data = request.POST
        handset = data.get("handset", "").strip()
        service_number = data.get("service_number", "").strip()
        if not handset or not service_number:
            raise BadWebhook("Choose the phone's number and the inbox number to text.")
        return InboundSms(
            provider_message_id=new_sid(),
            from_number=handset,
            to_number=service_number,
            body=data.get("body", ""),
        )

    def parse_status(self, request: HttpRequest) -> StatusReport:
        raise BadWebhook("The simulator reports statuses from the worker, not over HTTP.")

    def run_due_work(self) -> int:
        from textdesk.providers.simulator.carrier import report_due_receipts

        return report_due_receipts()
