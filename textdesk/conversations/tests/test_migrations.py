"""Data migrations, run on the real database from the state before them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("conversations", "0002_locks_notes_assignment_and_closing")]
AFTER = [("conversations", "0003_backfill_last_inbound_at")]


def migrate(targets):
    """Migrate the named apps to the named migrations, and every other app to its newest
    migration that does not need a later one of theirs; returns the models as of then."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    named = dict(targets)
    too_new = {
        node
        for node in graph.nodes
        if node[0] in named and node not in graph.forwards_plan((node[0], named[node[0]]))
    }
    others = []
    for app in {node[0] for node in graph.nodes} - set(named):
        fitting = [
            node
            for node in graph.nodes
            if node[0] == app and not too_new.intersection(graph.forwards_plan(node))
        ]
        others.append(
            max(fitting, key=lambda node: len(graph.forwards_plan(node)))
            if fitting
            else (app, None)
        )
    executor.migrate(targets + others)
    executor.loader.build_graph()
    return executor.loader.project_state([*targets, *(o for o in others if o[1])]).apps


@pytest.fixture(autouse=True)
def _back_to_the_newest_schema():
    """Whatever a test here migrates to, the next test gets the newest schema again."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_conversations_learn_when_their_newest_inbound_text_came():
    apps = migrate(BEFORE)
    team = apps.get_model("accounts", "Team").objects.create(name="Admissions")
    inbox = apps.get_model("inboxes", "Inbox").objects.create(team=team, name="A", kind="shared")
    number = apps.get_model("inboxes", "PhoneNumber").objects.create(
        number="+16175550101", inbox=inbox, provider="simulator"
    )
    Contact = apps.get_model("contacts", "Contact")
    Conversation = apps.get_model("conversations", "Conversation")
    Message = apps.get_model("conversations", "Message")
    talked = Conversation.objects.create(
        inbox=inbox,
        contact=Contact.objects.create(team=team, phone="+16175550142"),
        phone_number=number,
    )
    only_ours = Conversation.objects.create(
        inbox=inbox,
        contact=Contact.objects.create(team=team, phone="+16175550143"),
        phone_number=number,
    )
    common = {
        "our_number": number.number,
        "provider": "simulator",
        "encoding": "GSM-7",
        "segments": 1,
    }
    first = Message.objects.create(conversation=talked, direction="in", status="received", **common)
    second = Message.objects.create(
        conversation=talked, direction="in", status="received", **common
    )
    Message.objects.create(conversation=talked, direction="out", status="sent", **common)
    Message.objects.create(conversation=only_ours, direction="out", status="sent", **common)

    apps = migrate(AFTER)
    Conversation = apps.get_model("conversations", "Conversation")
    assert Conversation.objects.get(pk=talked.pk).last_inbound_at == max(
        first.created_at, second.created_at
    )
    assert Conversation.objects.get(pk=only_ours.pk).last_inbound_at is None
