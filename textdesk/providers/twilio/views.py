"""Twilio's webhooks. Each verifies the signature before reading a single field, then hands the
parsed values to the same actions every provider uses."""

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from textdesk.conversations.actions import RejectedInbound, UnknownNumber, receive_inbound
from textdesk.messaging.actions import apply_status_report
from textdesk.providers.base import BadWebhook
from textdesk.providers.twilio.provider import TwilioProvider

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden("Invalid or missing X-Twilio-Signature", content_type="text/plain")


@csrf_exempt
@require_POST
def inbound_message(request: HttpRequest) -> HttpResponse:
    provider = TwilioProvider()
    if not provider.verify_request(request):
        logger.warning("Rejected an inbound Twilio webhook with a bad signature")
        return _forbidden()
    try:
        receive_inbound(provider.name, provider.parse_inbound(request))
    except (BadWebhook, RejectedInbound) as e:
        return HttpResponseBadRequest(str(e), content_type="text/plain")
    except UnknownNumber as e:
        return HttpResponse(str(e), status=404, content_type="text/plain")
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def status_callback(request: HttpRequest) -> HttpResponse:
    provider = TwilioProvider()
    if not provider.verify_request(request):
        logger.warning("Rejected a Twilio status callback with a bad signature")
        return _forbidden()
    try:
        apply_status_report(provider.name, provider.parse_status(request))
    except BadWebhook as e:
        return HttpResponseBadRequest(str(e), content_type="text/plain")
    return HttpResponse(status=204)
