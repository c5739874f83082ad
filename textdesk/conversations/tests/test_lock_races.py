"""Many agents racing for the same conversations, on the real database (SQLite or PostgreSQL):
at most one holder at any moment, and never two replies to the same text."""

import random
import threading
from collections import Counter

import pytest
from django.db import connection

from textdesk.accounts.models import Membership
from textdesk.conversations import locks
from textdesk.conversations.actions import SendConflict, send_reply
from textdesk.conversations.models import Message
from textdesk.inboxes.models import InboxAccess
from textdesk.testing import create_conversation, create_user, create_world

AGENTS = 24
CONVERSATIONS = 3

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_agents_never_share_a_lock_and_never_reply_twice():
    world = create_world()
    agents = [world.alice, world.bob]
    for n in range(AGENTS - len(agents)):
        agent = create_user(f"agent{n}")
        Membership.objects.create(team=world.admissions, user=agent)
        InboxAccess.objects.create(inbox=world.shared, user=agent)
        agents.append(agent)
    conversations = [
        create_conversation(world.shared, sender=f"+1617555{2000 + n}")
        for n in range(CONVERSATIONS)
    ]
    question = {c.pk: c.messages.get().pk for c in conversations}

    holding = Counter()  # conversation id -> agents who believe they hold it right now
    worst = Counter()
    guard = threading.Lock()
    start = threading.Barrier(AGENTS)
    errors: list[BaseException] = []

    def agent_work(agent) -> None:
        try:
            start.wait()
            for conversation in random.sample(conversations, len(conversations)):
                tab = f"{agent.username}-{conversation.pk}"
                view = locks.open_conversation(agent, conversation, tab)
                if view.viewer_holds_it:
                    with guard:
                        holding[conversation.pk] += 1
                        worst[conversation.pk] = max(
                            worst[conversation.pk], holding[conversation.pk]
                        )
                try:
                    # Everyone read the same question and tries to answer it.
                    send_reply(
                        agent,
                        conversation,
                        f"Answer from {agent.username}",
                        seen_message_id=question[conversation.pk],
                    )
                except SendConflict:
                    pass
                finally:
                    if view.viewer_holds_it:
                        with guard:
                            holding[conversation.pk] -= 1
                    locks.leave(agent, conversation.pk, tab)
        except BaseException as e:  # report it from the main thread
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=agent_work, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert max(worst.values()) == 1  # somebody held each, and never two at once
    replies = Counter(
        Message.objects.filter(direction="out").values_list("conversation_id", flat=True)
    )
    assert replies == Counter({c.pk: 1 for c in conversations})
