"""One contact's data: everything we hold about them (export), erasing it, how long message
bodies are kept (retention), and remembering an erased opt-out.

Who may do what:

- **Export** (JSON or CSV): any member of the contact's team. A team admin gets everything the
  team holds about the contact, in every inbox (a request for one's data is answered in full);
  anyone else gets the conversations (and the send exclusions) of the inboxes they may open, and
  the export says so in ``scope``. The contact's own fields, consent history, lists and imports
  are team data every member sees on the contact page anyway.
- **Erase**: team admins only. The contact row keeps its id (counts and send reports stay
  right), but everything that could identify the person goes: see ``erase_contact``.
- **Retention**: message bodies older than ``MESSAGE_RETENTION_DAYS`` are emptied by the
  worker (``apply_retention``) or by ``manage.py apply_retention``.

An erased contact's number becomes a *pseudonym*: ``x`` and 15 hex digits of an HMAC-SHA256 of
the number keyed with SECRET_KEY. It fits the 16 characters of a phone column, can never be
mistaken for E.164 (which starts with ``+``), and links the rows that belonged together (consent
history, audit) without saying whose they were.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Replace
from django.utils.crypto import salted_hmac

from textdesk.accounts.models import Team, User
from textdesk.compliance import audit
from textdesk.compliance.keywords import keyword_of
from textdesk.compliance.models import (
    AuditEvent,
    ConsentChange,
    EmailNotification,
    ErasedNumber,
    PersonalOptOut,
)
from textdesk.compliance.queries import is_team_admin
from textdesk.contacts.models import Contact, ImportRejection
from textdesk.conversations.models import Conversation, Message, Note, PendingAttachment
from textdesk.core import clock
from textdesk.inboxes.models import PhoneNumber
from textdesk.inboxes.queries import accessible_inboxes
from textdesk.live.events import publish
from textdesk.media.models import TOKEN_PATTERN, StoredMedia
from textdesk.messaging.status import MessageStatus
from textdesk.phones import pretty

logger = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "x"  # E.164 starts with "+": a pseudonym can never be a real number
PSEUDONYM_LENGTH = 16  # the phone columns' width
ERASED = "[erased]"
# Separates this use of SECRET_KEY from every other (sessions, signing, ...).
HASH_SALT = "textdesk.compliance.erased-number"
RETENTION_BATCH = 1000
ERASED_CODE = "erased"


# --- Pseudonyms and erased numbers --------------------------------------------------------------


def phone_hash(phone: str, secret: str | bytes | None = None) -> str:
    """The keyed hash of an E.164 number (64 hex digits), with SECRET_KEY unless told."""
    return salted_hmac(HASH_SALT, phone, secret=secret, algorithm="sha256").hexdigest()


def _phone_hashes(phone: str) -> list[str]:
    """The number's hash under the current key and every fallback key, so that rotating
    SECRET_KEY (with the old one in SECRET_KEY_FALLBACKS) does not forget anyone's opt-out."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [phone_hash(phone, secret) for secret in secrets]


def pseudonym(phone: str) -> str:
    return PSEUDONYM_PREFIX + phone_hash(phone)[: PSEUDONYM_LENGTH - 1]


def is_erased(contact: Contact) -> bool:
    return contact.phone.startswith(PSEUDONYM_PREFIX)


def consent_for_new_contact(team_id: int, phone: str) -> str:
    """The consent a contact created now for ``phone`` in team ``team_id`` starts with
    (a Contact.Consent value): opted out when the number was erased from the team while opted
    out, so that erasing someone never undoes their STOP.

    Call it wherever a contact is created for a number (an inbound text, a number typed to
    start a conversation, an import), in the same transaction. When the number was on the
    personal-inbox opt-out list when it was erased, it goes back on that list here (under the
    number again, since the number is back)."""
    return consents_for_new_contacts(team_id, [phone]).get(phone, Contact.Consent.SUBSCRIBED)


def consents_for_new_contacts(team_id: int, phones: Iterable[str]) -> dict[str, str]:
    """``consent_for_new_contact`` for many numbers at once (an import's batch): each number
    whose contact must start opted out, mapped to OPTED_OUT; the others are left out. One
    query per 500 numbers; none of the numbers' own values is stored."""
    by_hash: dict[str, str] = {}
    for phone in set(phones):
        for digest in _phone_hashes(phone):
            by_hash[digest] = phone
    opted_out: dict[str, str] = {}
    hashes = list(by_hash)
    with transaction.atomic():
        for start in range(0, len(hashes), 500):
            rows = ErasedNumber.objects.filter(
                Q(team_id=team_id) | Q(team__isnull=True),
                phone_hash__in=hashes[start : start + 500],
                opted_out=True,
            )
            for row in rows:
                phone = by_hash[row.phone_hash]
                if row.team_id is None:
                    # Handed back to the list that holds numbers; the hash has done its job.
                    PersonalOptOut.objects.get_or_create(
                        phone=phone, defaults={"created_at": row.erased_at}
                    )
                    row.delete()
                else:
                    opted_out[phone] = Contact.Consent.OPTED_OUT
    return opted_out


def _unique_pseudonym(team_id: int, phone: str) -> str:
    """The number's pseudonym, unless an earlier erased contact of the team has it (the same
    number, erased, came back and was erased again): then a variant of it."""
    digest = phone_hash(phone)
    candidates = [PSEUDONYM_PREFIX + digest[:15]] + [
        f"{PSEUDONYM_PREFIX}{digest[:12]}{n:03x}" for n in range(1, 0x1000)
    ]
    taken = set(
        Contact.objects.filter(
            team_id=team_id, phone__startswith=PSEUDONYM_PREFIX + digest[:12]
        ).values_list("phone", flat=True)
    )
    return next(c for c in candidates if c not in taken)


# --- Export -------------------------------------------------------------------------------------


def visible_conversations(user: User, team: Team, contact: Contact) -> QuerySet[Conversation]:
    """The contact's conversations an export by ``user`` includes: all of them for a team
    admin, those of the inboxes the user may open for anyone else."""
    conversations = Conversation.objects.filter(contact=contact)
    if not is_team_admin(user, team):
        conversations = conversations.filter(inbox__in=accessible_inboxes(user))
    return conversations


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _name(user: User | None) -> str | None:
    return user.display_name if user else None


def _sender(message: Message) -> str:
    """Who a message is from, in words: the contact, a person, a send, or Textdesk itself."""
    if message.is_inbound:
        return "contact"
    if message.sent_by is not None:
        return message.sent_by.display_name
    if message.send is not None:
        return f"send: {message.send.name}"
    return "Textdesk (automatic)"


def collect_contact_data(user: User, team: Team, contact: Contact) -> dict[str, Any]:
    """Everything ``user`` may take about ``contact`` (see the module's docstring), as plain
    JSON-ready values. A few queries whatever the number of conversations and messages."""
    admin = is_team_admin(user, team)
    conversations = list(
        visible_conversations(user, team, contact)
        .select_related("inbox", "phone_number", "assigned_to")
        .order_by("created_at", "id")
    )
    ids = [c.pk for c in conversations]
    messages_by: dict[int, list[dict]] = {pk: [] for pk in ids}
    for message in (
        Message.objects.filter(conversation_id__in=ids)
        .select_related("sent_by", "send")
        .order_by("created_at", "id")
    ):
        messages_by[message.conversation_id].append(
            {
                "id": message.pk,
                "time": _when(message.created_at),
                "direction": message.get_direction_display().lower(),
                "body": message.body,
                "media_urls": list(message.media_urls),
                "status": message.status,
                "by": _sender(message),
                "sent_at": _when(message.sent_at),
                "delivered_at": _when(message.delivered_at),
                "error": message.error_message,
                "compliance": message.compliance,
            }
        )
    notes_by: dict[int, list[dict]] = {pk: [] for pk in ids}
    for note in (
        Note.objects.filter(conversation_id__in=ids)
        .select_related("author")
        .order_by("created_at", "id")
    ):
        notes_by[note.conversation_id].append(
            {
                "time": _when(note.created_at),
                "kind": note.kind,
                "author": _name(note.author),
                "body": note.body,
            }
        )
    history = contact.consent_changes.select_related("actor", "inbox").order_by("created_at", "id")
    from textdesk.campaigns.models import SendExclusion

    exclusions = SendExclusion.objects.filter(contact=contact).select_related("send__inbox")
    if not admin:
        exclusions = exclusions.filter(send__inbox__in=accessible_inboxes(user))
    return {
        "exported_at": _when(clock.now()),
        "exported_by": user.display_name,
        "team": team.name,
        "scope": (
            "everything the team holds"
            if admin
            else "the conversations of the inboxes the exporting user may open"
        ),
        "contact": {
            "id": contact.pk,
            "phone": contact.phone,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "fields": contact.fields or {},
            "tags": sorted(tag.name for tag in contact.tags.all()),
            "owner": _name(contact.owner),
            "time_zone": contact.time_zone,
            "created_at": _when(contact.created_at),
            "last_texted_at": _when(contact.last_texted_at),
            "erased": is_erased(contact),
        },
        "consent": {
            "state": contact.consent,
            "changed_at": _when(contact.consent_changed_at),
            "personal_inboxes_opted_out": PersonalOptOut.objects.filter(
                phone=contact.phone
            ).exists(),
            "history": [
                {
                    "time": _when(change.created_at),
                    "opted_out": change.opted_out,
                    "scope": change.scope,
                    "cause": change.cause,
                    "detail": change.detail,
                    "by": _name(change.actor),
                    "inbox": change.inbox.name if change.inbox else None,
                }
                for change in history
            ],
        },
        "conversations": [
            {
                "id": c.pk,
                "inbox": c.inbox.name,
                "our_number": c.phone_number.number,
                "created_at": _when(c.created_at),
                "closed_at": _when(c.closed_at),
                "assigned_to": _name(c.assigned_to),
                "messages": messages_by[c.pk],
                "notes": notes_by[c.pk],
            }
            for c in conversations
        ],
        "send_exclusions": [
            {
                "send": e.send.name,
                "inbox": e.send.inbox.name,
                "reason": e.get_reason_display(),
                "detail": e.detail,
            }
            for e in exclusions.order_by("send_id")
        ],
        "imports": [
            {"id": i.pk, "file": i.filename, "created_at": _when(i.created_at)}
            for i in contact.imports.order_by("created_at", "id")
        ],
        "lists": sorted(s.name for s in contact.static_segments.all()),
    }


def export_contact(user: User, team: Team, contact: Contact, *, fmt: str) -> dict[str, Any]:
    """Collect the contact's data for ``user`` and record who took it (personal data is
    leaving Textdesk). ``fmt``: "json" or "csv", for the audit trail."""
    with transaction.atomic():
        data = collect_contact_data(user, team, contact)
        audit.record(
            "contact.exported",
            actor=user,
            team_id=team.pk,
            contact_id=contact.pk,
            format=fmt,
            conversations=len(data["conversations"]),
            complete=data["scope"] == "everything the team holds",
        )
    return data


CSV_COLUMNS = ["time", "inbox", "direction", "body", "status", "by", "media"]


def csv_rows(data: dict[str, Any]) -> list[list[str]]:
    """The export's messages, one row each, oldest first (cells made safe for spreadsheets)."""
    from textdesk.contacts.export import safe_cell

    rows = []
    for conversation in data["conversations"]:
        for m in conversation["messages"]:
            values = [
                m["time"],
                conversation["inbox"],
                m["direction"],
                m["body"],
                m["status"],
                m["by"],
                " ".join(m["media_urls"]),
            ]
            rows.append([safe_cell(str(v)) for v in values])
    rows.sort(key=lambda row: row[0])
    return [CSV_COLUMNS, *rows]


# --- Erase --------------------------------------------------------------------------------------


class EraseRefused(Exception):
    """An erasure that cannot happen (now), said for the user."""


@dataclass
class Erased:
    pseudonym: str
    conversations: int = 0
    messages: int = 0
    notes: int = 0
    media_files: int = 0
    withdrawn: int = 0
    opted_out: bool = False
    personal_opt_out: str = ""  # "", "remembered" (hashed) or "kept" (number still known)


def erase_summary(contact: Contact) -> dict[str, Any]:
    """What erasing the contact would touch, for the confirmation page."""
    conversations = Conversation.objects.filter(contact=contact).select_related("inbox")
    return {
        "inboxes": sorted({c.inbox.name for c in conversations}),
        "messages": Message.objects.filter(conversation__contact=contact).count(),
        "notes": Note.objects.filter(conversation__contact=contact).count(),
        "queued": Message.objects.filter(
            conversation__contact=contact, status=MessageStatus.QUEUED
        ).count(),
        "personal_opt_out": PersonalOptOut.objects.filter(phone=contact.phone).exists(),
    }


def erase_contact(user: User, contact: Contact) -> Erased:
    """Erase everything that identifies ``contact``, in one transaction, keeping what the
    team must keep in pseudonymous form:

    - the contact row (same id) under the pseudonym, with names, fields, tags, owner and time
      zone cleared and its consent kept; it leaves the static lists (future audiences);
    - every message of its conversations emptied (body and pictures; pictures we host are
      deleted unless something else still shows them), queued ones withdrawn, notes set to
      "[erased]", previews emptied, open conversations closed;
    - consent history rows kept under the pseudonym, details that quote the person dropped
      (bare keywords such as STOP stay: they are the evidence);
    - audit events: the number replaced by the pseudonym wherever it appears, quoted text
      about the contact dropped; team notification emails about it redacted (unsent ones
      dropped);
    - an opt-out survives: the number's keyed hash goes into ErasedNumber, and
      ``consent_for_new_contact`` opts the number out again if it ever comes back.

    Refused (EraseRefused), never half done: by anyone but a team admin, for a contact already
    erased, and while one of its texts is being handed to the provider.
    """
    team = contact.team
    if not is_team_admin(user, team):
        raise EraseRefused("Only the team's admins may erase a contact.")
    now = clock.now()
    with transaction.atomic():
        # The dispatcher claims a number's texts under its number's row lock: holding those
        # locks, no text of this contact can be claimed between our check and our withdrawal.
        queued_numbers = Message.objects.filter(
            conversation__contact=contact, status=MessageStatus.QUEUED
        ).values("our_number")
        list(PhoneNumber.objects.select_for_update().filter(number__in=queued_numbers))
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("team")
            .get(pk=contact.pk)
        )
        if is_erased(contact):
            raise EraseRefused("This contact has already been erased.")
        phone = contact.phone
        conversations = list(Conversation.objects.select_for_update().filter(contact=contact))
        conversation_ids = [c.pk for c in conversations]
        messages = Message.objects.filter(conversation_id__in=conversation_ids)
        in_flight = messages.filter(status=MessageStatus.QUEUED).filter(
            Q(handoff_started_at__isnull=False) | Q(claimed_until__gt=now)
        )
        if in_flight.exists():
            raise EraseRefused(
                "A text to this contact is being handed to the provider right now. "
                "Try again in a minute."
            )
        erased = Erased(pseudonym=_unique_pseudonym(team.pk, phone))
        scrub = _Scrubber(contact, erased.pseudonym)
        erased.conversations = len(conversations)
        erased.withdrawn = messages.filter(status=MessageStatus.QUEUED).update(
            status=MessageStatus.FAILED,
            status_changed_at=now,
            error_code=ERASED_CODE,
            error_message="Not sent: the contact was erased.",
            next_attempt_at=None,
        )
        erased.messages, erased.media_files = _redact_messages(messages)
        messages.filter(error_message__contains=phone).update(
            error_message=Replace("error_message", Value(phone), Value(erased.pseudonym))
        )
        erased.notes = Note.objects.filter(conversation_id__in=conversation_ids).update(body=ERASED)
        Conversation.objects.filter(pk__in=conversation_ids).update(preview="", needs_reply=False)
        Conversation.objects.filter(pk__in=conversation_ids, closed_at__isnull=True).update(
            closed_at=now
        )
        _scrub_consent_history(contact, scrub)
        _scrub_audit(contact, conversation_ids, scrub)
        _scrub_notifications(scrub)
        _scrub_elsewhere(contact, scrub)
        erased.opted_out = contact.is_opted_out
        erased.personal_opt_out = _remember_opt_outs(contact, now)

        contact.phone = erased.pseudonym
        contact.first_name = contact.last_name = contact.time_zone = ""
        contact.fields = {}
        contact.owner = None
        contact.save()
        contact.tags.clear()
        # Lists are audiences for texts to come; an erased contact is nobody to text.
        contact.static_segments.clear()

        audit.record(
            "contact.erased",
            actor=user,
            team_id=team.pk,
            contact_id=contact.pk,
            **{k: v for k, v in asdict(erased).items() if v != ""},
        )
        publish("contact", contact=contact.pk)
        for conversation in conversations:
            publish("conversation", inbox_id=conversation.inbox_id, conversation_id=conversation.pk)
    if erased.withdrawn:
        _note_sends_progress(conversation_ids)
    return erased


class _Scrubber:
    """Replaces what identifies one contact in free text: the number (as stored and as
    shown) becomes the pseudonym, the names become "[erased]"."""

    def __init__(self, contact: Contact, pseudonym: str) -> None:
        self.phone = contact.phone
        self.pseudonym = pseudonym
        self.numbers = [n for n in {contact.phone, pretty(contact.phone)} if n]
        # Longest first, so that "Dana Reyes" goes before "Dana".
        names = {contact.full_name, contact.first_name, contact.last_name}
        self.names = sorted((n for n in names if len(n) >= 2), key=len, reverse=True)

    def text(self, value: str) -> str:
        for number in self.numbers:
            value = value.replace(number, self.pseudonym)
        for name in self.names:
            value = _replace_ignoring_case(value, name, ERASED)
        return value

    def number_only(self, value: Any) -> Any:
        """``value`` (any JSON) with the number replaced by the pseudonym everywhere."""
        if isinstance(value, str):
            for number in self.numbers:
                value = value.replace(number, self.pseudonym)
            return value
        if isinstance(value, list):
            return [self.number_only(v) for v in value]
        if isinstance(value, dict):
            return {k: self.number_only(v) for k, v in value.items()}
        return value

    def detail(self, detail: str, cause: str | None) -> str:
        """A consent change's detail: a bare keyword stays (it is the evidence), a staff
        member's reason loses the person's number and names, anything else (the text of a
        message that read as an opt-out, a carrier's error) goes."""
        if not detail or keyword_of(detail) is not None:
            return detail
        if cause == ConsentChange.Cause.USER:
            return self.text(detail)
        return ERASED


def _replace_ignoring_case(text: str, old: str, new: str) -> str:
    lowered, target = text.lower(), old.lower()
    out, start = [], 0
    while (found := lowered.find(target, start)) != -1:
        out += [text[start:found], new]
        start = found + len(old)
    return "".join(out) + text[start:]


def _media_token(url: str) -> str | None:
    """The token of a picture we host (``.../m/<token>/<name>``), whatever the public address
    was when the URL was made; None for anyone else's URL."""
    parts = urlsplit(url).path.split("/")
    if len(parts) == 4 and parts[1] == "m" and TOKEN_PATTERN.fullmatch(parts[2]):
        return parts[2]
    return None


def _redact_messages(messages: QuerySet[Message]) -> tuple[int, int]:
    """Empty the bodies and pictures of ``messages`` (within the caller's transaction); delete
    the pictures we host that nothing else shows any more. Returns (messages, files)."""
    tokens: dict[str, int] = {}  # token -> the team of the message that showed it
    with_media = messages.exclude(media_urls=[]).values_list(
        "media_urls", "conversation__inbox__team_id"
    )
    for urls, team_id in with_media:
        for url in urls:
            token = _media_token(url)
            if token:
                tokens[token] = team_id
    PendingAttachment.objects.filter(message__in=messages).delete()
    redacted = messages.filter(~Q(body="") | ~Q(media_urls=[])).update(body="", media_urls=[])
    return redacted, _forget_media(tokens)


def _forget_media(tokens: dict[str, int]) -> int:
    """Delete the hosted pictures among ``tokens`` that no message or send shows any more; the
    files go once the transaction commits (a rollback keeps them)."""
    from textdesk.campaigns.models import Send

    deleted = 0
    for media in StoredMedia.objects.filter(token__in=list(tokens)):
        if media.team_id != tokens[media.token]:
            continue  # another team's file: never ours to delete
        if not media.source_url:
            # An upload can be on many texts (a send's picture): only the last one deletes it.
            still_shown = (
                Message.objects.annotate(urls=Cast("media_urls", TextField()))
                .filter(urls__contains=media.token)
                .exists()
                or Send.objects.annotate(urls=Cast("media_urls", TextField()))
                .filter(urls__contains=media.token)
                .exists()
            )
            if still_shown:
                continue
        path = media.path
        media.delete()
        transaction.on_commit(lambda path=path: path.unlink(missing_ok=True))
        deleted += 1
    return deleted


def _scrub_consent_history(contact: Contact, scrub: _Scrubber) -> None:
    changes = ConsentChange.objects.filter(
        Q(contact=contact) | Q(contact__isnull=True, team=contact.team_id, phone=contact.phone)
    )
    for change in changes:
        change.phone = scrub.pseudonym
        change.detail = scrub.detail(change.detail, change.cause)
        change.save(update_fields=["phone", "detail"])


def _scrub_audit(contact: Contact, conversation_ids: list[int], scrub: _Scrubber) -> None:
    """Audit events keep who did what and when; the number becomes the pseudonym, and the
    text they quote about the contact goes."""
    as_text = AuditEvent.objects.annotate(text=Cast("data", TextField()))
    mentions_number = Q()
    for number in scrub.numbers:
        mentions_number |= Q(text__contains=number)
    about_contact = Q(data__contact_id=contact.pk) | Q(conversation_id__in=conversation_ids)
    for event in as_text.filter(mentions_number | about_contact):
        data = scrub.number_only(event.data)
        if isinstance(data, dict) and isinstance(data.get("detail"), str):
            data["detail"] = scrub.detail(data["detail"], data.get("cause"))
        if data != event.data:
            AuditEvent.objects.filter(pk=event.pk).update(data=data)


def _scrub_notifications(scrub: _Scrubber) -> None:
    """Team notification emails about the contact (they name the number, and may quote a
    text): unsent ones are dropped, sent ones keep their date and addresses only."""
    about = Q()
    for number in scrub.numbers:
        about |= Q(subject__contains=number) | Q(body__contains=number)
    emails = EmailNotification.objects.filter(about)
    emails.filter(sent_at__isnull=True).delete()
    for email in emails:
        email.subject = scrub.text(email.subject)[:200]
        email.body = f"{ERASED}: this email was about a contact whose data has been erased."
        email.save(update_fields=["subject", "body"])


def _scrub_elsewhere(contact: Contact, scrub: _Scrubber) -> None:
    """The other places a number can be quoted: why a send skipped the contact, and the
    rejected rows of the team's imports."""
    from textdesk.campaigns.models import SendExclusion

    SendExclusion.objects.filter(contact=contact, detail__contains=scrub.phone).update(
        detail=Replace("detail", Value(scrub.phone), Value(scrub.pseudonym))
    )
    rows = ImportRejection.objects.filter(contact_import__team=contact.team_id).annotate(
        text=Cast("values", TextField())
    )
    mentions = Q()
    for number in scrub.numbers:
        mentions |= Q(text__contains=number)
    for rejection in rows.filter(mentions):
        rejection.values = []
        rejection.reason = scrub.text(rejection.reason)[:255]
        rejection.save(update_fields=["values", "reason"])


def _remember_opt_outs(contact: Contact, now: datetime) -> str:
    """Keep the contact's opt-outs past the erasure, under the number's keyed hash. Returns
    what happened to a personal-inbox opt-out: "", "remembered" or "kept"."""
    digest = phone_hash(contact.phone)
    known = ErasedNumber.objects.filter(
        team=contact.team_id, phone_hash__in=_phone_hashes(contact.phone)
    )
    if contact.is_opted_out or known.exists():
        # An earlier row (the number came back, opted in, and is erased again) takes the
        # state it has now.
        known.exclude(phone_hash=digest).delete()
        ErasedNumber.objects.update_or_create(
            team_id=contact.team_id,
            phone_hash=digest,
            defaults={"opted_out": contact.is_opted_out, "erased_at": now},
        )
    if not PersonalOptOut.objects.filter(phone=contact.phone).exists():
        return ""
    if Contact.objects.filter(phone=contact.phone).exclude(pk=contact.pk).exists():
        # Another team still knows the number: the list entry protects it there.
        return "kept"
    PersonalOptOut.objects.filter(phone=contact.phone).delete()
    ErasedNumber.objects.update_or_create(
        team=None, phone_hash=digest, defaults={"opted_out": True, "erased_at": now}
    )
    return "remembered"


def _note_sends_progress(conversation_ids: list[int]) -> None:
    """Withdrawn texts may have been the last of a send: let it finish."""
    from textdesk.messaging.dispatch import note_send_progress

    send_ids = (
        Message.objects.filter(conversation_id__in=conversation_ids, send__isnull=False)
        .values_list("send_id", flat=True)
        .distinct()
    )
    for send_id in list(send_ids):
        note_send_progress(send_id, force=True)


# --- Retention ----------------------------------------------------------------------------------


def retention_cutoff(now: datetime | None = None, days: int | None = None) -> datetime | None:
    """Messages created before this lose their bodies; None when bodies are kept forever."""
    days = settings.MESSAGE_RETENTION_DAYS if days is None else days
    if days <= 0:
        return None
    return (now or clock.now()) - timedelta(days=days)


def messages_past_retention(cutoff: datetime) -> QuerySet[Message]:
    """Messages older than ``cutoff`` that still have a body or pictures. Queued ones are left
    alone: they have not gone out yet (a send held for its window), and the outbox reads them."""
    return (
        Message.objects.filter(created_at__lt=cutoff)
        .exclude(status=MessageStatus.QUEUED)
        .filter(~Q(body="") | ~Q(media_urls=[]))
    )


def apply_retention(
    now: datetime | None = None,
    *,
    days: int | None = None,
    dry_run: bool = False,
    max_batches: int | None = None,
) -> int:
    """Empty the bodies (and pictures) of messages older than ``days`` (default
    MESSAGE_RETENTION_DAYS; 0 keeps them forever), and the previews of conversations quiet
    since then. Returns how many messages were (or, with ``dry_run``, would be) emptied.

    Runs in batches of 1,000, each its own transaction with its audit events (one per team),
    so a large first run neither holds locks for long nor starts over if it stops.
    ``max_batches`` bounds one call: the worker runs this between sends, and a first run over
    years of texts must not hold them up (the rest waits for the next call)."""
    cutoff = retention_cutoff(now, days)
    if cutoff is None:
        return 0
    if dry_run:
        return messages_past_retention(cutoff).count()
    days = settings.MESSAGE_RETENTION_DAYS if days is None else days
    total, after, batches = 0, 0, 0
    while max_batches is None or batches < max_batches:
        batches += 1
        batch = list(
            messages_past_retention(cutoff)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:RETENTION_BATCH]
        )
        if not batch:
            break
        after = batch[-1]
        with transaction.atomic():
            messages = Message.objects.filter(pk__in=batch)
            per_team = dict(
                messages.values_list("conversation__inbox__team_id")
                .annotate(n=Count("pk"))
                .values_list("conversation__inbox__team_id", "n")
            )
            redacted, files = _redact_messages(messages)
            total += redacted
            for team_id, count in per_team.items():
                audit.record(
                    "messages.retention_applied",
                    actor=None,
                    team_id=team_id,
                    messages=count,
                    days=days,
                    before=cutoff.isoformat(),
                )
            if files:
                logger.info("Retention deleted %s stored pictures", files)
    Conversation.objects.filter(last_message_at__lt=cutoff).exclude(preview="").update(preview="")
    return total


def export_json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
