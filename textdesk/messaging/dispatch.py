"""The outbox: hands queued messages to their providers, as fast as each number may send.

A queued outbound message is its own outbox entry. Each round, for every number with due
messages, a worker locks the number's row (its pacer), picks what the number may send now
(replies first, then bulk messages in fair turns between sends), claims them and moves the
pacer forward by their cost, all in one transaction. So the rate holds across every worker
and process, and two workers never take the same message.

Provider calls happen outside any transaction (concurrently for HTTP providers); outcomes are
recorded after. Before a claim, ``handoff_started_at`` is set; it is cleared when the outcome
is known. A message claimed again while it is still set (the worker died, or the provider's
answer never came) is first looked up at the provider: if the provider has it, it is recorded
as sent, never sent twice.
"""

import functools
import logging
import math
import random
import time
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from textdesk.campaigns.models import Send
from textdesk.compliance.consent import opt_out, personal_opt_outs
from textdesk.compliance.models import ConsentChange
from textdesk.contacts.models import Contact
from textdesk.conversations.models import Message
from textdesk.inboxes.models import PhoneNumber
from textdesk.live.events import publish
from textdesk.messaging.actions import advance_status
from textdesk.messaging.status import MessageStatus
from textdesk.messaging.windows import next_opening
from textdesk.providers.base import OutgoingSms, ProviderError, SendResult
from textdesk.providers.registry import get_provider

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 5
MAX_BACKOFF_SECONDS = 3600
# A number may use this much of its throughput at once; over time it gets exactly its rate.
ROUND_SECONDS = 0.25
MAX_PER_ROUND = 256
CONCURRENCY = 16
OPTED_OUT_CODE = "21610"  # Twilio's "recipient has opted out", also used for our own refusals

_pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="textdesk-send")


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, so that retries after an outage spread out."""
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _due(now: datetime):
    return (
        Message.objects.filter(
            status=MessageStatus.QUEUED,
            direction=Message.Direction.OUTBOUND,
            next_attempt_at__lte=now,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(send__isnull=True) | Q(send__status=Send.Status.SENDING))
    )


@dataclass
class Claim:
    message: Message
    sms: OutgoingSms
    handed_before: datetime | None  # set: the provider may already have it


@dataclass
class Outcome:
    result: SendResult | None = None
    error: ProviderError | None = None
    found_at_provider: bool = False


def dispatch_due_messages(worker: str = "") -> int:
    """One round: claim what every number may send now, hand it over, record the outcomes.
    Returns how many messages were handed over (or found already there)."""
    now = timezone.now()
    numbers = list(_due(now).values_list("our_number", flat=True).distinct())
    random.shuffle(numbers)  # no number always first when there are many
    claims: list[Claim] = []
    for number in numbers:
        if len(claims) >= MAX_PER_ROUND:
            break
        claims += _claim_for_number(number, now, worker, MAX_PER_ROUND - len(claims))
    if not claims:
        return 0
    outcomes = _hand_over_all(claims)
    touched_sends = set()
    texted = []
    for claim, outcome in zip(claims, outcomes, strict=True):
        _record(claim, outcome)
        if claim.message.send_id:
            touched_sends.add(claim.message.send_id)
            if outcome.result is not None:
                texted.append(claim.message.conversation.contact_id)
    if texted:
        # A send's recipients count as texted when their text goes out, not when it is queued
        # (a cancelled send texted nobody); one UPDATE a round, not one per recipient.
        Contact.objects.filter(pk__in=texted).update(last_texted_at=now)
    for send_id in touched_sends:
        note_send_progress(send_id)
    return len(claims)


# The answers a keyword gets go even to someone who has just opted out: the confirmation of a
# STOP, and HELP (which carriers require answering whatever the consent).
ALWAYS_ANSWERED = {Message.Compliance.OPT_OUT_REPLY, Message.Compliance.HELP_REPLY}


def _opted_out(message: Message, personal_out: set[str]) -> str:
    """Why ``message`` may not go out now (its recipient opted out), or ""."""
    if message.compliance in ALWAYS_ANSWERED:
        return ""
    contact = message.conversation.contact
    if contact.consent == Contact.Consent.OPTED_OUT:
        return "The contact has opted out."
    if message.conversation.inbox.is_personal and contact.phone in personal_out:
        return "The contact has opted out of personal inboxes."
    return ""


def _window_closed(message: Message, now: datetime) -> datetime | None:
    """For a bulk message outside its recipient's sending window: when it next opens."""
    if message.priority == 0 or not message.local_zone or message.send is None:
        return None
    inbox = message.send.inbox
    opening = next_opening(
        now, zoneinfo.ZoneInfo(message.local_zone), inbox.window_start, inbox.window_end
    )
    return opening if opening > now else None


def _claim_for_number(number: str, now: datetime, worker: str, room: int) -> list[Claim]:
    with transaction.atomic():
        phone = PhoneNumber.objects.select_for_update().filter(number=number).first()
        if phone is None:
            return []
        # A generic cell rate algorithm: next_free_at is when the number's next slot is due.
        # Each text moves it on by cost / rate; a round takes the texts due within the next
        # ROUND_SECONDS. A slot missed by less than a round (the worker was asleep) is made up,
        # so the rate holds exactly over time; an idle number earns no more than that.
        horizon = now + timedelta(seconds=ROUND_SECONDS)
        due = max(phone.next_free_at or now, now - timedelta(seconds=ROUND_SECONDS))
        if due > horizon:
            return []  # the number has used its throughput for now
        budget = phone.segments_per_second * (horizon - due).total_seconds()
        candidates = list(
            _due(now)
            .filter(our_number=number)
            .select_related("conversation__contact", "conversation__inbox", "send__inbox")
            .order_by("priority", "fair_rank", "id")[: min(room, math.ceil(budget) + 8)]
        )
        personal_out = personal_opt_outs(
            [m.conversation.contact.phone for m in candidates if m.conversation.inbox.is_personal]
        )
        chosen: list[Message] = []
        total = 0.0
        for message in candidates:
            # Checked again right before handing over: a STOP during a send stops the rest.
            refusal = _opted_out(message, personal_out)
            if refusal:
                _fail(message, refusal, code=OPTED_OUT_CODE)
                continue
            opening = _window_closed(message, now)
            if opening is not None:
                Message.objects.filter(pk=message.pk).update(next_attempt_at=opening)
                continue
            if chosen and total >= budget:  # the next slot starts past the horizon
                break
            chosen.append(message)
            total += message.cost
        if not chosen:
            return []
        claimed = Message.objects.filter(pk__in=[m.pk for m in chosen]).update(
            claimed_until=now + timedelta(seconds=settings.WORKER_CLAIM_SECONDS),
            claimed_by=worker,
            attempts=F("attempts") + 1,
            handoff_started_at=Coalesce(F("handoff_started_at"), now),
        )
        assert claimed == len(chosen)  # every claim on this number passes this row lock
        phone.next_free_at = due + timedelta(seconds=total / phone.segments_per_second)
        phone.save(update_fields=["next_free_at"])
    return [
        Claim(
            message=m,
            sms=OutgoingSms(
                message_id=m.pk,
                from_number=m.our_number,
                to_number=m.conversation.contact.phone,
                body=m.body,
                media_urls=tuple(m.media_urls),
            ),
            handed_before=m.handoff_started_at,
        )
        for m in chosen
    ]


def _hand_over_all(claims: list[Claim]) -> list[Outcome]:
    by_provider: dict[str, list[int]] = {}
    for i, claim in enumerate(claims):
        by_provider.setdefault(claim.message.provider, []).append(i)
    outcomes: list[Outcome | None] = [None] * len(claims)
    for name, indexes in by_provider.items():
        provider = get_provider(name)
        mine = [claims[i] for i in indexes]
        if provider.concurrent_sends and len(mine) > 1:
            results = list(_pool.map(functools.partial(_hand_over, provider), mine))
        else:
            results = [_hand_over(provider, claim) for claim in mine]
        for i, outcome in zip(indexes, results, strict=True):
            outcomes[i] = outcome
    return outcomes  # type: ignore[return-value]


def _hand_over(provider, claim: Claim) -> Outcome:
    try:
        if claim.handed_before is not None:
            found = provider.lookup(claim.sms, claim.handed_before)
            if found is not None:
                return Outcome(result=found, found_at_provider=True)
        return Outcome(result=provider.send(claim.sms))
    except ProviderError as e:
        return Outcome(error=e)
    except Exception as e:  # a bug in a provider must not stop the queue
        logger.exception("Provider %s crashed on message %s", provider.name, claim.message.pk)
        return Outcome(
            error=ProviderError(
                f"Internal error: {e}", retryable=True, code="internal", may_have_sent=True
            )
        )


def _record(claim: Claim, outcome: Outcome) -> None:
    message = claim.message
    if outcome.result is not None:
        with transaction.atomic():
            # An earlier attempt's error is history now; the page should not show it.
            Message.objects.filter(pk=message.pk).update(
                provider_message_id=outcome.result.provider_message_id,
                sent_at=timezone.now(),
                claimed_until=None,
                claimed_by="",
                handoff_started_at=None,
                error_code="",
                error_message="",
            )
            advance_status(message.pk, outcome.result.status, announce=message.send_id is None)
        if outcome.found_at_provider:
            logger.info("Message %s was already at the provider; not sent again", message.pk)
        return
    error = outcome.error
    assert error is not None
    attempts = message.attempts + 1
    if error.retryable and attempts < MAX_ATTEMPTS:
        Message.objects.filter(pk=message.pk).update(
            next_attempt_at=timezone.now() + retry_delay(attempts),
            claimed_until=None,
            claimed_by="",
            # Keep the handoff mark when the provider may have it: the retry looks it up first.
            handoff_started_at=F("handoff_started_at") if error.may_have_sent else None,
            error_code=error.code[:16],
            error_message=error.message[:255],
        )
        logger.warning("Message %s will be retried: %s", message.pk, error)
        return
    _fail(message, error.message, code=error.code)
    if error.code == OPTED_OUT_CODE:
        # The carrier says they opted out (they texted STOP to Twilio directly, say).
        opt_out(
            message.conversation.contact,
            cause=ConsentChange.Cause.PROVIDER,
            inbox=message.conversation.inbox,
            detail=f"Error {error.code}: {error.message}"[:255],
            message=message,
        )
    logger.warning("Message %s failed: %s", message.pk, error)


def _fail(message: Message, reason: str, *, code: str) -> None:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            claimed_until=None, claimed_by="", handoff_started_at=None, error_message=reason[:255]
        )
        advance_status(
            message.pk, MessageStatus.FAILED, error_code=code[:16], announce=message.send_id is None
        )


# --- Sends: progress and completion --------------------------------------------------------

_last_progress: dict[int, float] = {}
# Sends whose latest change was not announced yet (it came within a second of the last one).
_unannounced: set[int] = set()
PROGRESS_EVERY_SECONDS = 1.0


def note_send_progress(send_id: int, *, force: bool = False) -> None:
    """Finish a send whose messages are all out, and tell pages how far it is (at most once a
    second per send: a 100,000-message send must not mean 100,000 page refreshes). A change
    not announced at once is announced by ``announce_pending_progress`` a moment later."""
    send = Send.objects.filter(pk=send_id).first()
    if send is None:
        _unannounced.discard(send_id)
        return
    finished = (
        send.status == Send.Status.SENDING
        and send.expansion_done
        and not Message.objects.filter(send=send, status=MessageStatus.QUEUED).exists()
    )
    if finished:
        Send.objects.filter(pk=send.pk, status=Send.Status.SENDING).update(
            status=Send.Status.DONE, finished_at=timezone.now()
        )
    now = time.monotonic()
    if finished or force or now - _last_progress.get(send_id, 0) >= PROGRESS_EVERY_SECONDS:
        if len(_last_progress) > 1000:  # forget sends not heard of for a while
            for old in [k for k, t in _last_progress.items() if now - t > 3600]:
                del _last_progress[old]
        _last_progress[send_id] = now
        _unannounced.discard(send_id)
        with transaction.atomic():
            publish("send", inbox_id=send.inbox_id, topic=f"send-{send.pk}", send=send.pk)
    else:
        _unannounced.add(send_id)


def announce_pending_progress() -> int:
    """Announce the changes held back by the once-a-second limit, once their second is up,
    so that a send's last receipts reach the page too."""
    now = time.monotonic()
    due = [s for s in _unannounced if now - _last_progress.get(s, 0) >= PROGRESS_EVERY_SECONDS]
    for send_id in due:
        note_send_progress(send_id, force=True)
    return len(due)


def finish_idle_sends() -> int:
    """Finish sends with nothing left to hand over that no dispatch round will touch again:
    everyone excluded, the last texts refused at claim time (an opt-out), and so on."""
    queued = Message.objects.filter(send=OuterRef("pk"), status=MessageStatus.QUEUED)
    idle = Send.objects.filter(status=Send.Status.SENDING, expansion_done=True).exclude(
        Exists(queued)
    )
    finished = 0
    for send_id in idle.values_list("pk", flat=True):
        note_send_progress(send_id, force=True)
        finished += 1
    return finished
