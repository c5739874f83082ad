"""Setting up teams' inboxes and their numbers."""

from dataclasses import dataclass, field

from django.db import transaction

from textdesk.accounts.actions import ensure_membership
from textdesk.accounts.models import Team, User
from textdesk.compliance import audit
from textdesk.inboxes.models import Inbox, InboxAccess, InboxSubscription, PhoneNumber
from textdesk.phones import InvalidPhoneNumber, sender_e164
from textdesk.providers.names import ProviderName


class SetupError(Exception):
    """A setup request that cannot be carried out, said plainly."""


@dataclass
class InboxSetup:
    inbox: Inbox
    created: bool
    changes: list[str] = field(default_factory=list)


SIMULATOR_RATE = 10.0


def default_team() -> Team:
    """The team setup commands use when none is named: the oldest one, created if need be."""
    team = Team.objects.order_by("created_at", "id").first()
    return team or Team.objects.create(name="Default")


def _user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise SetupError(f"There is no user {username!r}.") from None


@transaction.atomic
def ensure_inbox(
    name: str,
    *,
    number: str,
    team: Team,
    provider: str = ProviderName.SIMULATOR,
    personal_for: str | None = None,
    members: list[str] | tuple[str, ...] = (),
    segments_per_second: float | None = None,
) -> InboxSetup:
    """Make sure an inbox with this name, number and access exists; safe to run again.

    Never takes anything away: running it twice, or with more members, only adds.
    ``segments_per_second`` is the number's throughput (ask the carrier: a US long code
    registered for A2P 10DLC may be allowed 1-75, a toll-free number 3 or more); a new
    simulator number gets 10, so that a demo send moves visibly but not in a blink.
    """
    if segments_per_second is not None and not 0 < segments_per_second <= 10_000:
        raise SetupError("The rate must be between 0 and 10,000 segments per second.")
    name = name.strip()
    if not name:
        raise SetupError("The inbox needs a name.")
    if provider not in ProviderName.values:
        raise SetupError(
            f"Unknown provider {provider!r}; use one of {', '.join(ProviderName.values)}."
        )
    try:
        e164 = sender_e164(number)
    except InvalidPhoneNumber as e:
        raise SetupError(str(e)) from None
    owner = _user(personal_for) if personal_for else None
    member_users = [_user(username) for username in members]
    if owner and member_users:
        raise SetupError("A personal inbox belongs to its owner alone; it cannot have --member.")

    kind = Inbox.Kind.PERSONAL if owner else Inbox.Kind.SHARED
    inbox, created = Inbox.objects.get_or_create(
        team=team, name=name, defaults={"kind": kind, "owner": owner}
    )
    setup = InboxSetup(inbox, created)
    if not created and (inbox.kind != kind or inbox.owner_id != (owner.pk if owner else None)):
        described = f"personal inbox of {inbox.owner}" if inbox.is_personal else "shared inbox"
        raise SetupError(f"{name!r} already exists in {team} as a {described}.")

    existing = PhoneNumber.objects.select_related("inbox").filter(number=e164).first()
    if existing is None:
        rate = segments_per_second or (SIMULATOR_RATE if provider == ProviderName.SIMULATOR else 1)
        PhoneNumber.objects.create(
            number=e164, inbox=inbox, provider=provider, segments_per_second=rate
        )
        setup.changes.append(f"number {e164} on {provider} at {rate:g} segments/s")
    elif existing.inbox_id != inbox.pk:
        raise SetupError(f"{e164} already belongs to the inbox {existing.inbox.name!r}.")
    elif existing.provider != provider:
        existing.provider = provider
        existing.save(update_fields=["provider"])
        setup.changes.append(f"number {e164} moved to {provider}")
    rate_changed = (
        existing is not None
        and existing.inbox_id == inbox.pk
        and segments_per_second
        and existing.segments_per_second != segments_per_second
    )
    if rate_changed:
        existing.segments_per_second = segments_per_second
        existing.save(update_fields=["segments_per_second"])
        setup.changes.append(f"number {e164} now sends {segments_per_second:g} segments/s")

    for user in [owner] if owner else member_users:
        if ensure_membership(team, user):
            setup.changes.append(f"{user.username} joined {team}")
    for user in member_users:
        if InboxAccess.objects.get_or_create(inbox=inbox, user=user)[1]:
            setup.changes.append(f"{user.username} given access")
    return setup


def toggle_following(user: User, inbox: Inbox) -> bool:
    """Follow an inbox (a browser notification for each new text in it), or stop; returns
    whether the user now follows it."""
    deleted, _ = InboxSubscription.objects.filter(inbox=inbox, user=user).delete()
    if deleted:
        return False
    InboxSubscription.objects.get_or_create(inbox=inbox, user=user)
    return True


SETTING_FIELDS = ("window_start", "window_end", "evening_warning", "footer")


def save_inbox_settings(user: User, inbox: Inbox, values: dict) -> list[str]:
    """Save an inbox's sending window, evening warning and footer (audited); returns what
    changed. The form has checked the values; the caller has checked the user may."""
    with transaction.atomic():
        inbox = Inbox.objects.select_for_update().get(pk=inbox.pk)
        changed = [name for name in SETTING_FIELDS if getattr(inbox, name) != values[name]]
        if not changed:
            return []
        before = {name: str(getattr(inbox, name)) for name in changed}
        for name in changed:
            setattr(inbox, name, values[name])
        inbox.save(update_fields=changed)
        audit.record(
            "settings.inbox",
            actor=user,
            inbox_id=inbox.pk,
            changed={name: {"from": before[name], "to": str(values[name])} for name in changed},
        )
    return changed
