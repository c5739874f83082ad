"""The simulated phones: pick a number, text an inbox, watch its replies arrive."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from textdesk.conversations.actions import RejectedInbound, UnknownNumber
from textdesk.inboxes.models import PhoneNumber
from textdesk.inboxes.queries import accessible_inboxes
from textdesk.phones import InvalidPhoneNumber, textable_e164, to_e164
from textdesk.providers.base import BadWebhook
from textdesk.providers.names import ProviderName
from textdesk.providers.simulator.carrier import text_from_handset
from textdesk.providers.simulator.models import CarrierMessage
from textdesk.providers.simulator.provider import SimulatorProvider

DEFAULT_HANDSET = "+16175550100"
THREAD_LENGTH = 100


def _phone_context(request: HttpRequest, handset_raw: str, service_number: str) -> dict:
    numbers = list(
        PhoneNumber.objects.filter(provider=ProviderName.SIMULATOR)
        .select_related("inbox")
        .order_by("inbox__name", "number")
    )
    # Any number can be texted, as on a real phone; only inboxes the user may see are named.
    visible = set(accessible_inboxes(request.user).values_list("pk", flat=True))
    for number in numbers:
        number.label = number.inbox.name if number.inbox_id in visible else "Another team's inbox"
    try:
        service_number = to_e164(service_number)
    except InvalidPhoneNumber:
        service_number = ""
    if service_number not in {n.number for n in numbers}:
        service_number = numbers[0].number if numbers else ""
    handset_error = ""
    try:
        handset = textable_e164(handset_raw or DEFAULT_HANDSET)
    except InvalidPhoneNumber as e:
        handset, handset_error = "", str(e)
    thread: list[CarrierMessage] = []
    # A phone may text any inbox, but its thread with an inbox shows only to people who may
    # see that inbox: the replies are that team's conversation.
    readable = any(n.number == service_number and n.inbox_id in visible for n in numbers)
    if handset and service_number and readable:
        thread = list(
            CarrierMessage.objects.filter(handset=handset, service_number=service_number).order_by(
                "-created_at", "-id"
            )[:THREAD_LENGTH]
        )
        thread.reverse()
    return {
        "numbers": numbers,
        "service_number": service_number,
        "handset": handset,
        "handset_raw": handset_raw or DEFAULT_HANDSET,
        "handset_error": handset_error,
        "thread": thread,
        "readable": readable,
    }


@require_GET
@login_required
def phone(request: HttpRequest) -> HttpResponse:
    context = _phone_context(
        request, request.GET.get("handset", ""), request.GET.get("service_number", "")
    )
    template = "simulator/_thread.html" if request.htmx else "simulator/phone.html"
    return render(request, template, context)


@require_POST
@login_required
def send(request: HttpRequest) -> HttpResponse:
    provider = SimulatorProvider()
    error = ""
    try:
        if not provider.verify_request(request):
            raise BadWebhook("Sign in to use the simulated phones.")
        sms = provider.parse_inbound(request)
        if not sms.body.strip():
            raise BadWebhook("Type a message first.")
        text_from_handset(sms)
    except (BadWebhook, RejectedInbound, UnknownNumber, InvalidPhoneNumber) as e:
        error = str(e)
    context = _phone_context(
        request, request.POST.get("handset", ""), request.POST.get("service_number", "")
    )
    context["error"] = error
    template = "simulator/_thread.html" if request.htmx else "simulator/phone.html"
    return render(request, template, context, status=422 if error else 200)
