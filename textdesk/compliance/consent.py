"""Consent: opting out and back in (by keyword, by hand, by import, by the carrier), the one
question every path asks before texting someone, and what an inbound text does to consent.

Scope, as Cadence users expect: a contact's ``consent`` is their state with the contact's team
(every inbox of that team). A STOP to a personal inbox also puts the number on the
organisation's personal opt-out list, which every personal inbox honours.

Each change happens once: the UPDATE (or the unique row) that makes it is conditional, so two
STOPs arriving together change consent once, write one history row and get one confirmation.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from textdesk.accounts.models import User
from textdesk.compliance import audit
from textdesk.compliance.keywords import Keyword, keyword_of, reads_as_revocation
from textdesk.compliance.models import ConsentChange, PersonalOptOut
from textdesk.compliance.notify import notify_team
from textdesk.contacts.models import Contact
from textdesk.core import clock
from textdesk.inboxes.models import Inbox
from textdesk.live.events import publish

Cause = ConsentChange.Cause
# A HELP answered this recently is not answered again (two auto-responders would loop).
HELP_REPEAT_SECONDS = 600


class ConsentRefused(Exception):
    """A consent change that cannot be made, said for the user."""


def opt_out_reason(contact: Contact, inbox: Inbox) -> str | None:
    """Why ``contact`` may not be texted from ``inbox``, in words for the reply box; None when
    they may be."""
    name = contact.display_name
    if contact.consent == Contact.Consent.OPTED_OUT:
        change = _latest_change(contact, ConsentChange.Scope.TEAM)
        how = f" ({change.get_cause_display().lower()}, {_day(change)})" if change else ""
        return (
            f"{name} has opted out of texts from {contact.team.name}{how}. "
            "They can text START to opt back in."
        )
    if inbox.is_personal and PersonalOptOut.objects.filter(phone=contact.phone).exists():
        return (
            f"{name} has opted out of texts from personal inboxes. They can text START to a "
            "personal inbox to opt back in."
        )
    return None


def personal_opt_outs(phones) -> set[str]:
    """Which of ``phones`` (a list, or a query of phone numbers: a whole audience is matched
    in the database, not sent to it as 100,000 parameters) no personal inbox may text."""
    return set(PersonalOptOut.objects.filter(phone__in=phones).values_list("phone", flat=True))


def _latest_change(contact: Contact, scope: str) -> ConsentChange | None:
    return contact.consent_changes.filter(scope=scope).order_by("-created_at", "-id").first()


def _day(change: ConsentChange) -> str:
    return timezone.localtime(change.created_at).strftime("%b %-d, %Y")


@dataclass
class Change:
    team: bool = False
    personal: bool = False

    def __bool__(self) -> bool:
        return self.team or self.personal


def opt_out(
    contact: Contact,
    *,
    cause: str,
    inbox: Inbox | None = None,
    actor: User | None = None,
    detail: str = "",
    message=None,
) -> Change:
    """Opt ``contact`` out of its team (and, from a personal inbox, every personal inbox).
    Returns what changed; nothing changes for someone already opted out."""
    return _set(
        contact, True, cause=cause, inbox=inbox, actor=actor, detail=detail, message=message
    )


def opt_in(
    contact: Contact,
    *,
    cause: str,
    inbox: Inbox | None = None,
    actor: User | None = None,
    detail: str = "",
    message=None,
) -> Change:
    """Opt ``contact`` back in with its team (and, from a personal inbox, personal inboxes)."""
    return _set(
        contact, False, cause=cause, inbox=inbox, actor=actor, detail=detail, message=message
    )


def _set(contact, opted_out: bool, *, cause, inbox, actor, detail, message) -> Change:
    now = clock.now()
    new, old = (
        (Contact.Consent.OPTED_OUT, Contact.Consent.SUBSCRIBED)
        if opted_out
        else (Contact.Consent.SUBSCRIBED, Contact.Consent.OPTED_OUT)
    )
    change = Change()
    history = dict(
        contact=contact,
        phone=contact.phone,
        opted_out=opted_out,
        cause=cause,
        detail=detail[:255],
        actor=actor,
        inbox=inbox,
        message=message,
        created_at=now,
    )
    with transaction.atomic():
        updated = Contact.objects.filter(pk=contact.pk, consent=old).update(
            consent=new, consent_changed_at=now
        )
        if updated:
            change.team = True
            ConsentChange.objects.create(
                team_id=contact.team_id, scope=ConsentChange.Scope.TEAM, **history
            )
        if inbox is not None and inbox.is_personal:
            if opted_out:
                _, change.personal = PersonalOptOut.objects.get_or_create(
                    phone=contact.phone, defaults={"created_at": now}
                )
            else:
                change.personal = bool(
                    PersonalOptOut.objects.filter(phone=contact.phone).delete()[0]
                )
            if change.personal:
                ConsentChange.objects.create(scope=ConsentChange.Scope.PERSONAL, **history)
        contact.consent = new
        contact.consent_changed_at = now
        if change:
            audit.record(
                "consent.opted_out" if opted_out else "consent.opted_in",
                actor=actor,
                team_id=contact.team_id,
                inbox_id=inbox.pk if inbox else None,
                contact_id=contact.pk,
                cause=cause,
                scope=[s for s, on in (("team", change.team), ("personal", change.personal)) if on],
                detail=detail[:255],
            )
            state = "opted out" if opted_out else "opted back in"
            notify_team(
                contact.team,
                f"{contact.display_name} {state}",
                f"{contact.display_name} ({contact.phone}) {state} "
                f"({ConsentChange.Cause(cause).label.lower()}"
                + (f": {detail}" if detail else "")
                + f") at {timezone.localtime(now):%Y-%m-%d %H:%M %Z}.",
            )
            publish("contact", inbox_id=inbox.pk if inbox else None, contact=contact.pk)
    return change


def opt_out_by_hand(user: User, contact: Contact, reason: str) -> Change:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ConsentRefused("Say why (what they asked, and how).")
    return opt_out(contact, cause=Cause.USER, actor=user, detail=reason)


def opt_in_by_hand(user: User, contact: Contact, reason: str) -> Change:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ConsentRefused("Say how they gave consent again (they must have asked for it).")
    return opt_in(contact, cause=Cause.USER, actor=user, detail=reason)


# --- Inbound texts -----------------------------------------------------------------------------


@dataclass
class Handled:
    """What an inbound text did to consent: the answer to queue, and whether the text still
    waits for a person."""

    needs_reply: bool = True
    answer: str = ""
    answer_kind: str = ""


def handle_inbound(inbox: Inbox, contact: Contact, message) -> Handled:
    """Act on a keyword in ``message`` (already stored, in the caller's transaction): change
    consent, mark the text, and say which automatic answer goes back. Runs once per stored
    text, since duplicate webhook deliveries never store a second one."""
    from textdesk.conversations.models import Message

    team = contact.team
    blocked = opt_out_reason(contact, inbox) is not None
    keyword = keyword_of(message.body, opted_out=blocked)
    word = " ".join(message.body.split())[:40]
    if keyword == Keyword.OPT_OUT:
        message.compliance = Message.Compliance.OPT_OUT
        message.save(update_fields=["compliance"])
        changed = opt_out(contact, cause=Cause.KEYWORD, inbox=inbox, detail=word, message=message)
        # Exactly one confirmation: a repeated STOP changes nothing and gets nothing.
        if changed:
            return Handled(False, team.opt_out_reply, Message.Compliance.OPT_OUT_REPLY)
        return Handled(False)
    if keyword == Keyword.OPT_IN:
        changed = opt_in(contact, cause=Cause.KEYWORD, inbox=inbox, detail=word, message=message)
        if changed:
            message.compliance = Message.Compliance.OPT_IN
            message.save(update_fields=["compliance"])
            return Handled(False, team.opt_in_reply, Message.Compliance.OPT_IN_REPLY)
        return Handled(True)  # START from someone subscribed: just a text
    if keyword == Keyword.HELP:
        message.compliance = Message.Compliance.HELP
        message.save(update_fields=["compliance"])
        recently = Message.objects.filter(
            conversation_id=message.conversation_id,
            compliance=Message.Compliance.HELP_REPLY,
            created_at__gte=clock.now() - timezone.timedelta(seconds=HELP_REPEAT_SECONDS),
        ).exists()
        if recently:
            return Handled(False)
        return Handled(False, team.help_reply, Message.Compliance.HELP_REPLY)
    if not blocked and reads_as_revocation(message.body):
        message.compliance = Message.Compliance.POSSIBLE_OPT_OUT
        message.save(update_fields=["compliance"])
    return Handled(True)


def decide_revocation(user: User, message, *, opt_out_now: bool) -> bool:
    """A person's answer to a text flagged as a possible opt-out: opt them out (with the
    confirmation text) or mark it as not one. Decided once; returns False if someone already
    had."""
    from textdesk.conversations.actions import queue_automatic_answer
    from textdesk.conversations.models import Conversation, Message
    from textdesk.inboxes.queries import can_access_inbox

    conversation = message.conversation
    if not can_access_inbox(user, conversation.inbox):
        raise ConsentRefused("You do not have access to this inbox.")
    with transaction.atomic():
        decided = Message.objects.filter(
            pk=message.pk, compliance=Message.Compliance.POSSIBLE_OPT_OUT
        ).update(
            compliance=Message.Compliance.CONFIRMED_OPT_OUT
            if opt_out_now
            else Message.Compliance.NOT_OPT_OUT
        )
        if not decided:
            return False
        if opt_out_now:
            contact = conversation.contact
            changed = opt_out(
                contact,
                cause=Cause.CONFIRMED,
                inbox=conversation.inbox,
                actor=user,
                detail=" ".join(message.body.split())[:255],
                message=message,
            )
            if changed:
                conversation = Conversation.objects.select_related("phone_number").get(
                    pk=conversation.pk
                )
                queue_automatic_answer(
                    conversation, contact.team.opt_out_reply, Message.Compliance.OPT_OUT_REPLY
                )
        else:
            audit.record(
                "consent.not_a_revocation",
                actor=user,
                inbox_id=conversation.inbox_id,
                conversation_id=conversation.pk,
                message_id=message.pk,
            )
        publish("conversation", inbox_id=conversation.inbox_id, conversation_id=conversation.pk)
    return True


def keep_earlier_opt_outs(contacts: list[Contact]) -> None:
    """Contacts just created (in the caller's transaction) whose number opted out and was then
    erased start opted out again: erasing someone never undoes their STOP."""
    from textdesk.compliance.stewardship import consents_for_new_contacts

    by_team: dict[int, list[Contact]] = {}
    for contact in contacts:
        by_team.setdefault(contact.team_id, []).append(contact)
    now = clock.now()
    for team_id, team_contacts in by_team.items():
        out = consents_for_new_contacts(team_id, [c.phone for c in team_contacts])
        returning = [c for c in team_contacts if c.phone in out]
        if not returning:
            continue
        Contact.objects.filter(pk__in=[c.pk for c in returning]).update(
            consent=Contact.Consent.OPTED_OUT, consent_changed_at=now
        )
        ConsentChange.objects.bulk_create(
            ConsentChange(
                team_id=team_id,
                contact=contact,
                phone=contact.phone,
                scope=ConsentChange.Scope.TEAM,
                opted_out=True,
                cause=Cause.ERASED,
                created_at=now,
            )
            for contact in returning
        )
        for contact in returning:
            contact.consent, contact.consent_changed_at = Contact.Consent.OPTED_OUT, now
