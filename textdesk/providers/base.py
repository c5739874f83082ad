"""The one small interface every SMS provider implements.

A provider turns our outgoing message into its API call, and turns its webhooks into plain
values. Everything after parsing (storing, deduplicating, status rules) is shared code in the
conversations and messaging apps, so adding a provider touches one folder.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest


@dataclass(frozen=True)
class OutgoingSms:
    message_id: int
    from_number: str
    to_number: str
    body: str
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: str  # a MessageStatus value


@dataclass(frozen=True)
class InboundSms:
    provider_message_id: str
    from_number: str
    to_number: str
    body: str
    media_urls: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class StatusReport:
    provider_message_id: str
    status: str  # a MessageStatus value
    error_code: str = ""
    # Our own id, when the provider echoes it back (we put it in the callback URL); it finds
    # the message even when the callback outruns the response that told us the provider's id.
    message_id: int | None = None


class ProviderError(Exception):
    """A send that failed. ``retryable`` says whether trying again later may succeed
    (timeouts, 5xx, rate limits) or never will (invalid number, opted out).
    ``may_have_sent`` marks the uncertain cases (the request reached the provider but no clear
    answer came back): the provider may have accepted the message after all."""

    def __init__(
        self, message: str, *, retryable: bool, code: str = "", may_have_sent: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.may_have_sent = may_have_sent

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class BadWebhook(Exception):
    """A webhook request whose fields are missing or malformed (answered with HTTP 400)."""


class Provider(ABC):
    name: str
    # Whether several sends may be in flight at once (an HTTP API: yes; a local fake: no).
    concurrent_sends: bool = False

    @abstractmethod
    def send(self, sms: OutgoingSms) -> SendResult:
        """Hand one message to the provider, or raise ProviderError."""

    @abstractmethod
    def lookup(self, sms: OutgoingSms, since: datetime) -> SendResult | None:
        """The provider's record of ``sms`` if it accepted it at or after ``since`` (a send
        whose outcome we never learned: a crash, a timeout), else None. Asked before sending
        such a message again, so that nobody gets it twice."""

    @abstractmethod
    def verify_request(self, request: HttpRequest) -> bool:
        """Whether a webhook request really comes from the provider."""

    @abstractmethod
    def parse_inbound(self, request: HttpRequest) -> InboundSms:
        """An inbound message from a verified webhook request, or raise BadWebhook."""

    @abstractmethod
    def parse_status(self, request: HttpRequest) -> StatusReport:
        """A status report from a verified webhook request, or raise BadWebhook."""

    def run_due_work(self) -> int:
        """Background work of the provider's own, run by the worker; returns how much it did."""
        return 0
