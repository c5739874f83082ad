"""Twilio, on its real wire format: the 2010-04-01 Messages REST API and signed webhooks."""

import threading
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from textdesk.messaging.status import MessageStatus
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

# Twilio's message statuses, in ours. "accepted" and "scheduled" belong to Messaging Services;
# "read" is a delivered message that was also read (WhatsApp, RCS).
STATUS_MAP = {
    "accepted": MessageStatus.SENDING,
    "scheduled": MessageStatus.SENDING,
    "queued": MessageStatus.SENDING,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    # Some recipients of a group or RCS message have it; receipts for the rest may follow.
    "partially_delivered": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}

_clients: dict[tuple, httpx.Client] = {}
_clients_lock = threading.Lock()

# Twilio's "Too Many Requests": retry later. Every other 4xx code is final.
RATE_LIMITED_CODE = "20429"
MAX_MEDIA = 10


class TwilioProvider(Provider):
    name = ProviderName.TWILIO
    concurrent_sends = True

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_base: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.account_sid = account_sid if account_sid is not None else settings.TWILIO_ACCOUNT_SID
        self.auth_token = auth_token if auth_token is not None else settings.TWILIO_AUTH_TOKEN
        self.api_base = (api_base or settings.TWILIO_API_BASE).rstrip("/")
        self.timeout = timeout if timeout is not None else settings.TWILIO_TIMEOUT_SECONDS

    # --- Sending ----------------------------------------------------------------------------

    def send(self, sms: OutgoingSms) -> SendResult:
        if not self.account_sid or not self.auth_token:
            raise ProviderError(
                "Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.",
                retryable=False,
                code="not-configured",
            )
        form: dict[str, str | list[str]] = {"From": sms.from_number, "To": sms.to_number}
        if sms.body:
            form["Body"] = sms.body
        if sms.media_urls:
            form["MediaUrl"] = list(sms.media_urls)  # repeated field, one per attachment
        form["StatusCallback"] = status_callback_url(sms.message_id)
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = self._client().post(url, data=form)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
            # The request never reached Twilio: trying again cannot send it twice.
            raise ProviderError(
                f"Could not reach Twilio ({e})", retryable=True, code="network"
            ) from e
        except httpx.HTTPError as e:
            # Sent, but no answer (a read timeout, a dropped connection): Twilio may have it.
            raise ProviderError(
                f"Twilio did not answer ({e or type(e).__name__})",
                retryable=True,
                code="timeout",
                may_have_sent=True,
            ) from e

        payload = _json_or_empty(response)
        if response.status_code >= 400:
            code = str(payload.get("code") or response.status_code)
            message = str(payload.get("message") or response.reason_phrase or "error")
            server_error = response.status_code >= 500
            retryable = response.status_code == 429 or server_error or code == RATE_LIMITED_CODE
            raise ProviderError(message, retryable=retryable, code=code, may_have_sent=server_error)

        sid = payload.get("sid")
        if not isinstance(sid, str) or not sid:
            # Twilio accepted something but we cannot tell what: do not send again blindly.
            raise ProviderError(
                "Twilio's answer had no message sid", retryable=False, code="bad-response"
            )
        status = STATUS_MAP.get(str(payload.get("status", "")), MessageStatus.SENDING)
        return SendResult(provider_message_id=sid, status=status)

    def _client(self) -> httpx.Client:
        """One pooled client per account and API base, shared by a worker's threads: sending
        thousands of texts over kept-alive connections instead of a new one each."""
        key = (self.api_base, self.account_sid, self.auth_token, self.timeout)
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = httpx.Client(
                    auth=(self.account_sid, self.auth_token),
                    timeout=self.timeout,
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
                )
                _clients[key] = client
            return client

    def lookup(self, sms: OutgoingSms, since: datetime) -> SendResult | None:
        """Twilio keeps no reference of ours on a message, so look for the one it would be:
        the newest messages from our number to theirs, with the same text, created since."""
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        params = {"To": sms.to_number, "From": sms.from_number, "PageSize": "50"}
        try:
            response = self._client().get(url, params=params)
        except httpx.HTTPError as e:
            raise ProviderError(
                f"Could not ask Twilio ({e})", retryable=True, code="network"
            ) from e
        if response.status_code >= 400:
            raise ProviderError(
                f"Twilio refused the lookup ({response.status_code})",
                retryable=response.status_code >= 500 or response.status_code == 429,
                code=str(response.status_code),
            )
        # Twilio's clock and ours differ a little: look a minute further back.
        earliest = since - timedelta(minutes=1)
        for found in _json_or_empty(response).get("messages", []):
            created = _parse_date(found.get("date_created"))
            same_text = (found.get("body") or "") == sms.body
            same_media = str(found.get("num_media") or "0") == str(len(sms.media_urls))
            if created and created >= earliest and same_text and same_media:
                status = STATUS_MAP.get(str(found.get("status", "")), MessageStatus.SENDING)
                return SendResult(provider_message_id=found["sid"], status=status)
        return None

    # --- Webhooks -----------------------------------------------------------------------------

    def verify_request(self, request: HttpRequest) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self.auth_token:
            return False
        # Twilio signs the URL it was configured with, which is our public URL, not whatever
        # Host and scheme a reverse proxy hands to us.
        url = settings.TEXTDESK_PUBLIC_URL + request.get_full_path_info()
        return RequestValidator(self.auth_token).validate(url, request.POST, signature)

    def parse_inbound(self, request: HttpRequest) -> InboundSms:
        data = request.POST
        self._check_account(data.get("AccountSid", ""))
        sid = _required(data, "MessageSid")
        try:
            num_media = int(data.get("NumMedia", "0") or "0")
        except ValueError:
            raise BadWebhook("NumMedia is not a number") from None
        if not 0 <= num_media <= MAX_MEDIA:
            raise BadWebhook(f"NumMedia must be between 0 and {MAX_MEDIA}")
        media = tuple(_media_url(data, i) for i in range(num_media))
        return InboundSms(
            provider_message_id=sid,
            from_number=_required(data, "From"),
            to_number=_required(data, "To"),
            body=data.get("Body", ""),
            media_urls=media,
        )

    def parse_status(self, request: HttpRequest) -> StatusReport:
        data = request.POST
        self._check_account(data.get("AccountSid", ""))
        sid = _required(data, "MessageSid")
        twilio_status = data.get("MessageStatus") or data.get("SmsStatus") or ""
        if twilio_status not in STATUS_MAP:
            raise BadWebhook(f"Unknown MessageStatus {twilio_status!r}")
        message_id = request.GET.get("message")
        if message_id is not None and not message_id.isdigit():
            raise BadWebhook("message must be a number")
        return StatusReport(
            provider_message_id=sid,
            status=STATUS_MAP[twilio_status],
            error_code=data.get("ErrorCode", "")[:16],
            message_id=int(message_id) if message_id else None,
        )

    def _check_account(self, account_sid: str) -> None:
        if self.account_sid and account_sid != self.account_sid:
            raise BadWebhook("AccountSid does not match TWILIO_ACCOUNT_SID")


def status_callback_url(message_id: int) -> str:
    """Where Twilio reports this message's statuses. Our own id rides along, so a callback that
    outruns the send response (it happens) still finds its message."""
    path = reverse("twilio:status")
    return f"{settings.TEXTDESK_PUBLIC_URL}{path}?{urlencode({'message': message_id})}"


def _required(data, name: str) -> str:
    value = data.get(name, "").strip()
    if not value:
        raise BadWebhook(f"{name} is missing")
    if len(value) > 2000:
        raise BadWebhook(f"{name} is too long")
    return value


def _media_url(data, index: int) -> str:
    # Shown as a link in the thread: anything but a web address (javascript:, data:) is refused.
    url = _required(data, f"MediaUrl{index}")
    if urlsplit(url).scheme not in ("https", "http"):
        raise BadWebhook(f"MediaUrl{index} is not a web address")
    return url


def _parse_date(value) -> datetime | None:
    """Twilio's dates are RFC 2822 ("Fri, 04 Dec 2026 20:01:02 +0000")."""
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _json_or_empty(response: httpx.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
