"""The lock against a model of itself (hypothesis, stateful): whatever sequence of opening,
activity, heartbeats, leaving, taking over, disconnecting, reconnecting and time passing,
the database agrees with the model about who holds the lock, and never two people hold it."""

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from textdesk.conversations import locks
from textdesk.conversations.models import ConversationLock
from textdesk.core import clock
from textdesk.testing import World, create_conversation

TIMEOUT = 120  # the inbox's idle timeout
GRACE = locks.PRESENCE_GRACE_SECONDS
USERS = ["alice", "bob"]  # Alice is an inbox admin, Bob is not
TABS = ["t1", "t2"]


@dataclass
class Model:
    holder: str | None = None
    expires_at: datetime | None = None
    present_until: datetime | None = None
    presence: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def effective_holder(self, now: datetime) -> str | None:
        if self.holder and self.expires_at > now and self.present_until > now:
            return self.holder
        return None

    def take(self, user: str, now: datetime) -> None:
        self.holder = user
        self.expires_at = now + timedelta(seconds=TIMEOUT)
        self.present_until = now + timedelta(seconds=GRACE)

    def open(self, user: str, tab: str, now: datetime) -> None:
        self.presence[(user, tab)] = now
        holder = self.effective_holder(now)
        if holder is None or holder == user:
            self.take(user, now)

    def heartbeat(self, user: str, tab: str, now: datetime) -> None:
        self.presence[(user, tab)] = now
        if self.effective_holder(now) == user:
            self.present_until = now + timedelta(seconds=GRACE)

    def leave(self, user: str, tab: str, now: datetime) -> None:
        self.presence.pop((user, tab), None)
        if self.effective_holder(now) != user:
            return
        fresh = [
            seen
            for (who, _), seen in self.presence.items()
            if who == user and seen > now - timedelta(seconds=GRACE)
        ]
        if not fresh:
            self.holder = None


def run_lock_machine(world: World) -> None:
    users = {"alice": world.alice, "bob": world.bob}

    class LockMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # A fresh conversation for every run keeps runs independent of each other.
            self.number = getattr(LockMachine, "counter", 0)
            LockMachine.counter = self.number + 1
            self.conversation = create_conversation(
                world.shared, sender=f"+1617555{3000 + self.number % 6000:04d}"
            )
            ConversationLock.objects.filter(conversation=self.conversation).delete()
            self.model = Model()

        @rule(user=st.sampled_from(USERS), tab=st.sampled_from(TABS))
        def open(self, user, tab):
            locks.open_conversation(users[user], self.conversation, tab)
            self.model.open(user, tab, clock.now())

        @rule(user=st.sampled_from(USERS), tab=st.sampled_from(TABS))
        def activity(self, user, tab):
            locks.record_activity(users[user], self.conversation.pk, tab)
            self.model.open(user, tab, clock.now())  # activity is opening again

        @rule(user=st.sampled_from(USERS), tab=st.sampled_from(TABS))
        def heartbeat_or_reconnect(self, user, tab):
            locks.heartbeat(users[user], self.conversation.pk, tab)
            self.model.heartbeat(user, tab, clock.now())

        @rule(user=st.sampled_from(USERS), tab=st.sampled_from(TABS))
        def leave(self, user, tab):
            locks.leave(users[user], self.conversation.pk, tab)
            self.model.leave(user, tab, clock.now())

        @rule()
        def alice_takes_over(self):
            locks.take_over(users["alice"], self.conversation)
            self.model.take("alice", clock.now())

        @rule(seconds=st.sampled_from([1, 5, 9, GRACE - 1, GRACE + 1, TIMEOUT - 10, TIMEOUT + 1]))
        def time_passes_or_connection_drops(self, seconds):
            clock.advance(seconds)

        @precondition(lambda self: self.model.holder is not None)
        @rule()
        def worker_sweeps(self):
            locks.release_lapsed_locks()

        @invariant()
        def database_and_model_agree_on_the_holder(self):
            now = clock.now()
            view = locks.view_lock(self.conversation, users["alice"], now)
            expected = self.model.effective_holder(now)
            assert (view.holder.username if view.holder else None) == expected
            if view.holder is not None:
                # A lease is never longer than the rules allow, however it was renewed.
                assert view.expires_at <= now + timedelta(seconds=TIMEOUT)
                lock = ConversationLock.objects.get(conversation=self.conversation)
                assert lock.present_until <= now + timedelta(seconds=GRACE)

    LockMachine.TestCase.settings = settings(
        # The same runs every time: CI must not fail on a seed nobody can reproduce. Explore
        # new ground locally with TEXTDESK_HYPOTHESIS_RANDOM=1.
        derandomize=not os.environ.get("TEXTDESK_HYPOTHESIS_RANDOM"),
        max_examples=80,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    LockMachine.TestCase().runTest()


def test_the_lock_behaves_like_its_model(world, clock):
    run_lock_machine(world)
