"""Conversation locks: no two people answer the same contact at once.

Opening a conversation takes its lock when it is free. The lock is a lease (see
ConversationLock): the holder's activity keeps it for the inbox's idle timeout, and heartbeats
from any of the holder's open tabs keep it while the connection lives, plus a short grace for a
reconnect. Leaving the last tab lets go at once; an inbox admin can take it over.

Every function here first locks the conversation's row (``select_for_update``; SQLite's
IMMEDIATE transactions serialize writers anyway), so deciding who holds the lock and acting on
it, including sending a reply, happen in one transaction: two people can never both hold it,
and two replies can never both go out.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from textdesk.accounts.models import User
from textdesk.compliance import audit
from textdesk.conversations.models import Conversation, ConversationLock, LockPresence, Note
from textdesk.core import clock
from textdesk.inboxes.queries import can_administer_inbox
from textdesk.live.events import publish

# Pages send a heartbeat every HEARTBEAT_SECONDS while connected; a holder whose tabs have all
# been silent for PRESENCE_GRACE_SECONDS (closed laptop, lost network) no longer holds the lock.
HEARTBEAT_SECONDS = 10
PRESENCE_GRACE_SECONDS = 30


@dataclass(frozen=True)
class LockView:
    """What a page needs to know about a conversation's lock, for one viewer."""

    holder: User | None
    expires_at: datetime | None
    viewer_holds_it: bool

    @property
    def held_by_someone_else(self) -> bool:
        return self.holder is not None and not self.viewer_holds_it


def is_effective(lock: ConversationLock | None, now: datetime) -> bool:
    return lock is not None and lock.expires_at > now and lock.present_until > now


def _lock_row(conversation_id: int) -> Conversation:
    """Lock the conversation's row for the rest of the transaction, and return it."""
    # of=("self",): the joined inbox row stays unlocked (other conversations use it too).
    rows = Conversation.objects.select_for_update(of=("self",)).select_related("inbox")
    return rows.get(pk=conversation_id)


def _current(conversation_id: int, now: datetime) -> ConversationLock | None:
    lock = (
        ConversationLock.objects.select_related("holder")
        .filter(conversation_id=conversation_id)
        .first()
    )
    return lock if is_effective(lock, now) else None


def _touch_presence(conversation_id: int, user: User, tab: str, now: datetime) -> None:
    LockPresence.objects.update_or_create(
        conversation_id=conversation_id, user=user, tab=tab[:64], defaults={"seen_at": now}
    )


def _take(conversation: Conversation, user: User, now: datetime) -> ConversationLock:
    lock, _ = ConversationLock.objects.update_or_create(
        conversation=conversation,
        defaults={
            "holder": user,
            "acquired_at": now,
            "expires_at": now + timedelta(seconds=conversation.inbox.lock_idle_seconds),
            "present_until": now + timedelta(seconds=PRESENCE_GRACE_SECONDS),
        },
    )
    audit.record(
        "lock.acquired", actor=user, inbox_id=conversation.inbox_id, conversation_id=conversation.pk
    )
    _announce(conversation)
    return lock


def _renew(lock: ConversationLock, conversation: Conversation, now: datetime) -> None:
    lock.expires_at = now + timedelta(seconds=conversation.inbox.lock_idle_seconds)
    lock.present_until = now + timedelta(seconds=PRESENCE_GRACE_SECONDS)
    lock.save(update_fields=["expires_at", "present_until"])


def _announce(conversation: Conversation) -> None:
    publish("lock", inbox_id=conversation.inbox_id, conversation_id=conversation.pk)


def view_lock(conversation: Conversation, viewer: User, now: datetime | None = None) -> LockView:
    lock = _current(conversation.pk, now or clock.now())
    if lock is None:
        return LockView(holder=None, expires_at=None, viewer_holds_it=False)
    return LockView(lock.holder, lock.expires_at, viewer_holds_it=lock.holder_id == viewer.pk)


@transaction.atomic
def open_conversation(user: User, conversation: Conversation, tab: str) -> LockView:
    """``user`` opened the conversation in ``tab``: take the lock if it is free."""
    now = clock.now()
    conversation = _lock_row(conversation.pk)
    _touch_presence(conversation.pk, user, tab, now)
    lock = _current(conversation.pk, now)
    if lock is None:
        lock = _take(conversation, user, now)
    elif lock.holder_id == user.pk:
        _renew(lock, conversation, now)
    return LockView(lock.holder, lock.expires_at, viewer_holds_it=lock.holder_id == user.pk)


@transaction.atomic
def heartbeat(user: User, conversation_id: int, tab: str) -> None:
    """A tab showing the conversation is still open and connected."""
    now = clock.now()
    _lock_row(conversation_id)
    _touch_presence(conversation_id, user, tab, now)
    lock = _current(conversation_id, now)
    if lock is not None and lock.holder_id == user.pk:
        lock.present_until = now + timedelta(seconds=PRESENCE_GRACE_SECONDS)
        lock.save(update_fields=["present_until"])


@transaction.atomic
def record_activity(user: User, conversation_id: int, tab: str) -> LockView:
    """The user typed, clicked, scrolled or focused the tab: renew their lock, or take it if
    nobody holds it (someone who starts typing in a free conversation is answering it)."""
    now = clock.now()
    conversation = _lock_row(conversation_id)
    _touch_presence(conversation_id, user, tab, now)
    lock = _current(conversation_id, now)
    if lock is None:
        lock = _take(conversation, user, now)
    elif lock.holder_id == user.pk:
        _renew(lock, conversation, now)
    return LockView(lock.holder, lock.expires_at, viewer_holds_it=lock.holder_id == user.pk)


@transaction.atomic
def leave(user: User, conversation_id: int, tab: str) -> None:
    """A tab stopped showing the conversation (navigated away, closed). The lock goes only
    when none of the holder's other tabs still shows it: several tabs are one holder."""
    now = clock.now()
    conversation = _lock_row(conversation_id)
    LockPresence.objects.filter(conversation_id=conversation_id, user=user, tab=tab[:64]).delete()
    lock = _current(conversation_id, now)
    if lock is None or lock.holder_id != user.pk:
        return
    grace_start = now - timedelta(seconds=PRESENCE_GRACE_SECONDS)
    still_open = LockPresence.objects.filter(
        conversation_id=conversation_id, user=user, seen_at__gt=grace_start
    ).exists()
    if not still_open:
        _release(lock, conversation, reason="left")


def _release(lock: ConversationLock, conversation: Conversation, *, reason: str) -> None:
    lock.delete()
    audit.record(
        "lock.released",
        actor=lock.holder,
        inbox_id=conversation.inbox_id,
        conversation_id=conversation.pk,
        reason=reason,
    )
    _announce(conversation)


@transaction.atomic
def take_over(user: User, conversation: Conversation) -> LockView:
    """An inbox admin takes the conversation from whoever holds it; the holder is told."""
    if not can_administer_inbox(user, conversation.inbox):
        raise PermissionDenied("Only an admin of this inbox's team can take over a conversation.")
    now = clock.now()
    conversation = _lock_row(conversation.pk)
    previous = _current(conversation.pk, now)
    if previous is not None and previous.holder_id == user.pk:
        _renew(previous, conversation, now)  # pressing the button is activity too
        return LockView(user, previous.expires_at, viewer_holds_it=True)
    lock = _take(conversation, user, now)
    if previous is not None:
        audit.record(
            "lock.taken_over",
            actor=user,
            inbox_id=conversation.inbox_id,
            conversation_id=conversation.pk,
            previous_holder=previous.holder_id,
        )
        Note.objects.create(
            conversation=conversation,
            kind=Note.Kind.EVENT,
            author=user,
            body=f"{user.display_name} took over from {previous.holder.display_name}.",
        )
        publish("note", inbox_id=conversation.inbox_id, conversation_id=conversation.pk)
        publish(
            "notice",
            user_id=previous.holder_id,
            conversation_id=conversation.pk,
            text=f"{user.display_name} took over your conversation; your draft is kept.",
        )
    return LockView(lock.holder, lock.expires_at, viewer_holds_it=True)


class LockedByOther(Exception):
    def __init__(self, holder: User) -> None:
        super().__init__(f"{holder.display_name} is answering this conversation.")
        self.holder = holder


def claim_for_sending(user: User, conversation: Conversation, now: datetime) -> None:
    """Inside the sending transaction, with the conversation row already locked: the sender
    must hold the lock, or take it now if nobody does. Raises LockedByOther otherwise."""
    lock = _current(conversation.pk, now)
    if lock is None:
        _take(conversation, user, now)
    elif lock.holder_id != user.pk:
        raise LockedByOther(lock.holder)
    else:
        _renew(lock, conversation, now)


def release_lapsed_locks() -> int:
    """Let go of every lock whose lease ran out, and tell the pages; returns how many."""
    now = clock.now()
    lapsed = ConversationLock.objects.filter(
        Q(expires_at__lte=now) | Q(present_until__lte=now)
    ).values_list("pk", flat=True)
    released = 0
    for conversation_id in list(lapsed):
        with transaction.atomic():
            conversation = _lock_row(conversation_id)
            lock = (
                ConversationLock.objects.select_related("holder").filter(pk=conversation_id).first()
            )
            if lock is None or is_effective(lock, now):
                continue  # renewed meanwhile, or already gone
            idle = lock.expires_at <= now
            _release(lock, conversation, reason="idle" if idle else "disconnected")
            publish(
                "notice",
                user_id=lock.holder_id,
                conversation_id=conversation_id,
                text=(
                    "You were idle, so the conversation was released; your draft is kept."
                    if idle
                    else "Your connection dropped, so the conversation was released."
                ),
            )
            released += 1
    return released
