"""insert_many: the rows it writes are the rows bulk_create would write, on either database."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from textdesk.conversations.models import Conversation, Message
from textdesk.core.bulk import insert_many
from textdesk.testing import create_contact

NOON = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)
LATER = datetime(2026, 9, 2, 13, 30, tzinfo=UTC)


def conversations_for(world, count: int) -> list[Conversation]:
    return [
        Conversation.objects.create(
            inbox=world.shared,
            phone_number=world.shared.phone_numbers.get(),
            contact=create_contact(world.admissions, f"+1617200{n:04d}"),
        )
        for n in range(count)
    ]


def in_shared(world) -> dict:
    return {"inbox_id": world.shared.pk, "phone_number_id": world.shared.phone_numbers.get().pk}


def test_varying_and_shared_values_land_as_given_with_defaults_for_the_rest(world):
    first, second, third = conversations_for(world, 3)
    insert_many(
        Message,
        ["conversation_id", "body", "next_attempt_at", "fair_rank", "cost"],
        [
            (first.pk, "Hi Ann, open day is Saturday!", NOON, 1, 1.0),
            (second.pk, "Hi Bé, open day is Saturday! ☀️", LATER, 2, 2.0),
            (third.pk, "", None, 3, 3.0),
        ],
        same={
            "direction": "out",
            "status": "queued",
            "segments": 1,
            "media_urls": ["https://x.test/a.png"],
        },
    )
    rows = list(
        Message.objects.order_by("fair_rank").values_list(
            "conversation_id", "body", "next_attempt_at", "cost", "media_urls", "status", "segments"
        )
    )
    assert rows == [
        (
            first.pk,
            "Hi Ann, open day is Saturday!",
            NOON,
            1.0,
            ["https://x.test/a.png"],
            "queued",
            1,
        ),
        (
            second.pk,
            "Hi Bé, open day is Saturday! ☀️",
            LATER,
            2.0,
            ["https://x.test/a.png"],
            "queued",
            1,
        ),
        (third.pk, "", None, 3.0, ["https://x.test/a.png"], "queued", 1),
    ]
    assert all(m.created_at is not None for m in Message.objects.all())


def test_rows_that_conflict_are_skipped_when_asked_and_the_rest_are_written(world):
    taken = conversations_for(world, 1)[0]
    fresh = create_contact(world.admissions, "+16172009999")
    insert_many(
        Conversation,
        ["contact_id", "preview"],
        [(taken.contact_id, "ignored"), (fresh.pk, "Hi, welcome!")],
        same={**in_shared(world), "last_message_at": NOON},
        ignore_conflicts=True,
    )
    previews = dict(Conversation.objects.values_list("contact_id", "preview"))
    assert previews == {taken.contact_id: "", fresh.pk: "Hi, welcome!"}
    assert Conversation.objects.get(contact=fresh).last_message_at == NOON


def test_a_conflict_not_allowed_fails_and_writes_nothing(world):
    taken = conversations_for(world, 1)[0]
    fresh = create_contact(world.admissions, "+16172009999")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(
            Conversation,
            ["contact_id"],
            [(fresh.pk,), (taken.contact_id,)],
            same={**in_shared(world)},
        )
    assert not Conversation.objects.filter(contact=fresh).exists()


@pytest.mark.parametrize(
    ("varying", "rows", "message"),
    [
        (["contact_id", "nonsense"], [(1, 2)], r"has no fields \['nonsense'\]"),
        (["contact_id", "preview"], [(1,)], "Expected 2 values, got 1"),
    ],
)
def test_bad_columns_or_rows_are_refused_before_anything_is_written(world, varying, rows, message):
    with pytest.raises(ValueError, match=message):
        insert_many(Conversation, varying, rows, same={**in_shared(world)})
    assert not Conversation.objects.exists()
