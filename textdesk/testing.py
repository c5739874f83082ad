"""Personas and create_* helpers shared by every test.

- Alice is an admin of the Admissions team and works its shared inbox; she has a personal inbox.
- Bob is a member of Admissions, on the shared inbox's access list.
- Charlie is in Financial Aid: he can see none of Admissions' inboxes, and they cannot see his.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection

from textdesk.accounts.models import Membership, Team, User
from textdesk.contacts.models import Contact
from textdesk.conversations.actions import receive_inbound
from textdesk.conversations.models import Conversation, Message
from textdesk.inboxes.models import Inbox, InboxAccess, PhoneNumber
from textdesk.providers.base import InboundSms
from textdesk.providers.names import ProviderName

PASSWORD = "correct horse battery staple"

SHARED_NUMBER = "+16175550101"
ALICE_PERSONAL_NUMBER = "+16175550102"
CHARLIE_NUMBER = "+16175550103"
STUDENT_NUMBER = "+16175550142"  # a contact texting in

_sequence = iter(range(1, 10**9))


def unique_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_sequence):032x}"


def create_user(username: str, *, first_name: str = "", **extra) -> User:
    user = User(username=username, first_name=first_name or username.title(), **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def create_team(name: str) -> Team:
    return Team.objects.create(name=name)


def create_inbox(
    team: Team,
    name: str,
    number: str,
    *,
    provider: str = ProviderName.SIMULATOR,
    members: tuple[User, ...] = (),
    owner: User | None = None,
) -> Inbox:
    inbox = Inbox.objects.create(
        team=team,
        name=name,
        kind=Inbox.Kind.PERSONAL if owner else Inbox.Kind.SHARED,
        owner=owner,
    )
    # Fast numbers, so that tests never wait for the pacer; pacing tests set their own rate.
    PhoneNumber.objects.create(
        number=number, inbox=inbox, provider=provider, segments_per_second=1000
    )
    for user in members:
        InboxAccess.objects.create(inbox=inbox, user=user)
    return inbox


def create_contact(team: Team, phone: str = STUDENT_NUMBER, **fields) -> Contact:
    return Contact.objects.create(team=team, phone=phone, **fields)


def receive_text(
    inbox: Inbox, body: str = "Hi, is my application complete?", *, sender: str = STUDENT_NUMBER
) -> Message:
    """A contact texts ``inbox`` (through the shared inbound code, as a webhook would)."""
    phone_number = inbox.phone_numbers.first()
    assert phone_number is not None
    sms = InboundSms(
        provider_message_id=unique_sid("SIM" if phone_number.provider == "simulator" else "SM"),
        from_number=sender,
        to_number=phone_number.number,
        body=body,
    )
    return receive_inbound(phone_number.provider, sms).message


def create_conversation(inbox: Inbox, *, sender: str = STUDENT_NUMBER) -> Conversation:
    return receive_text(inbox, sender=sender).conversation


def drain(rounds: int = 200) -> None:
    """Run worker rounds until there is nothing left to do (sends, receipts, imports, ...)."""
    from textdesk.messaging.worker import run_once

    for _ in range(rounds):
        if not run_once():
            return
    raise AssertionError("the worker never ran out of work")


@dataclass
class World:
    admissions: Team
    financial_aid: Team
    alice: User
    bob: User
    charlie: User
    shared: Inbox
    alice_personal: Inbox
    charlie_inbox: Inbox


def create_world() -> World:
    admissions = create_team("Admissions")
    financial_aid = create_team("Financial Aid")
    alice = create_user("alice", last_name="Archer", email="alice@example.edu")
    bob = create_user("bob", last_name="Baker", email="bob@example.edu")
    charlie = create_user("charlie", last_name="Chen", email="charlie@example.edu")
    Membership.objects.create(team=admissions, user=alice, role=Membership.Role.ADMIN)
    Membership.objects.create(team=admissions, user=bob, role=Membership.Role.MEMBER)
    Membership.objects.create(team=financial_aid, user=charlie, role=Membership.Role.ADMIN)
    shared = create_inbox(admissions, "Admissions", SHARED_NUMBER, members=(alice, bob))
    alice_personal = create_inbox(admissions, "Alice's line", ALICE_PERSONAL_NUMBER, owner=alice)
    charlie_inbox = create_inbox(financial_aid, "Financial Aid", CHARLIE_NUMBER, members=(charlie,))
    return World(
        admissions, financial_aid, alice, bob, charlie, shared, alice_personal, charlie_inbox
    )


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run ``calls`` in threads released at the same moment (each with its own database
    connection, closed after); returns their results in order, re-raising the first error."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait()
            results[index] = call()
        except BaseException as e:  # reported from the calling thread
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def create_event(team: Team, inbox: Inbox, name: str = "Open Day", *, days: float = 7, **fields):
    """An event of ``team`` answered in ``inbox``, starting in ``days`` and lasting two hours."""
    from datetime import timedelta

    from django.utils import timezone

    from textdesk.events.models import Event

    starts = timezone.now() + timedelta(days=days)
    return Event.objects.create(
        team=team,
        inbox=inbox,
        name=name,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        **fields,
    )
