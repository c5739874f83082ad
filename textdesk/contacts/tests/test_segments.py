"""Segment conditions against the real database (SQLite and PostgreSQL)."""

import json
from datetime import time, timedelta

import pytest
from django.utils import timezone

from textdesk.contacts import actions
from textdesk.contacts.models import Contact, ContactField, Segment, Tag
from textdesk.contacts.segments import SegmentError, compile_definition, contacts_in, describe
from textdesk.testing import create_contact, create_event, drain, receive_text


@pytest.fixture
def people(world):
    """Five contacts of Admissions with a bit of everything, and one of Financial Aid."""
    team = world.admissions
    ContactField.objects.create(team=team, key="term", label="Term")
    ana = create_contact(team, "+16175550101", first_name="Ana", last_name="Lima")
    ana.fields = {"term": "Fall 2027"}
    ana.owner = world.bob
    ana.save()
    bo = create_contact(team, "+16175550102", first_name="Bo", last_name="Chen")
    bo.fields = {"term": "Spring 2028"}
    bo.save()
    cy = create_contact(team, "+16175550103", first_name="Cy", last_name="Lima")
    cy.consent = Contact.Consent.OPTED_OUT
    cy.save()
    di = create_contact(team, "+442071838750", first_name="", last_name="")
    ed = create_contact(team, "+16175550105", first_name="Ed", last_name="Ruiz")
    fall = Tag.objects.create(team=team, name="fall-2027")
    ana.tags.add(fall)
    ed.tags.add(fall)
    create_contact(world.financial_aid, "+16175550106", first_name="Ana", last_name="Other")
    return {"ana": ana, "bo": bo, "cy": cy, "di": di, "ed": ed}


def who(world, definition) -> set[str]:
    q = compile_definition(world.admissions, definition)
    return set(
        Contact.objects.filter(team=world.admissions).filter(q).values_list("phone", flat=True)
    )


def names(people, *keys) -> set[str]:
    return {people[key].phone for key in keys}


def all_of(*conditions):
    return {"match": "all", "conditions": list(conditions)}


def any_of(*conditions):
    return {"match": "any", "conditions": list(conditions)}


def c(field, op, value=None):
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (c("first_name", "equals", "ana"), ("ana",)),
        (c("last_name", "equals", "LIMA"), ("ana", "cy")),
        (c("last_name", "not_equals", "lima"), ("bo", "di", "ed")),
        (c("last_name", "contains", "im"), ("ana", "cy")),
        (c("first_name", "starts_with", "b"), ("bo",)),
        (c("first_name", "is_set"), ("ana", "bo", "cy", "ed")),
        (c("first_name", "is_not_set"), ("di",)),
        (c("phone", "starts_with", "+44"), ("di",)),
        (c("custom:term", "contains", "2027"), ("ana",)),
        (c("custom:term", "not_equals", "Fall 2027"), ("bo", "cy", "di", "ed")),
        (c("custom:term", "is_set"), ("ana", "bo")),
        (c("custom:term", "is_not_set"), ("cy", "di", "ed")),
        (c("tag", "has", "FALL-2027"), ("ana", "ed")),
        (c("tag", "has_not", "fall-2027"), ("bo", "cy", "di")),
        (c("consent", "is", "opted_out"), ("cy",)),
        (c("created_at", "is_not_set"), ()),
    ],
    ids=lambda v: v if isinstance(v, tuple) else f"{v['field']} {v['op']} {v['value']}",
)
def test_each_kind_of_condition_picks_the_right_contacts(world, people, condition, expected):
    assert who(world, all_of(condition)) == names(people, *expected)


def test_owner_conditions(world, people):
    assert who(world, all_of(c("owner", "is", world.bob.pk))) == names(people, "ana")
    assert names(people, "ana") & who(world, all_of(c("owner", "is_none"))) == set()


def test_all_and_any_combine_conditions_and_groups_nest(world, people):
    lima_or_fall = any_of(c("last_name", "equals", "lima"), c("tag", "has", "fall-2027"))
    assert who(world, lima_or_fall) == names(people, "ana", "cy", "ed")
    subscribed_lima_or_fall = all_of(c("consent", "is", "subscribed"), lima_or_fall)
    assert who(world, subscribed_lima_or_fall) == names(people, "ana", "ed")
    assert who(world, all_of()) == names(people, "ana", "bo", "cy", "di", "ed")  # everyone
    assert who(world, any_of()) == set()


def test_dates_use_the_team_time_zone_and_recent_windows(world, people, clock):
    now = clock.now()
    Contact.objects.filter(pk=people["ana"].pk).update(last_texted_at=now - timedelta(days=2))
    Contact.objects.filter(pk=people["bo"].pk).update(last_texted_at=now - timedelta(days=40))
    assert who(world, all_of(c("last_texted_at", "within_days", 7))) == names(people, "ana")
    assert who(world, all_of(c("last_texted_at", "is_not_set"))) == names(people, "cy", "di", "ed")
    day = (now - timedelta(days=10)).date().isoformat()
    assert who(world, all_of(c("last_texted_at", "before", day))) == names(people, "bo")
    assert who(world, all_of(c("last_texted_at", "after", day))) == names(people, "ana")


def test_replied_means_texted_us(world, people, clock):
    receive_text(world.shared, "Hi!", sender=people["bo"].phone)
    assert who(world, all_of(c("replied", "within_days", 1))) == names(people, "bo")
    assert names(people, "bo") & who(world, all_of(c("replied", "never"))) == set()
    clock.advance(3 * 86400)
    assert who(world, all_of(c("replied", "within_days", 1))) == set()


def test_another_teams_contacts_never_match(world, people):
    assert who(world, all_of(c("first_name", "equals", "Ana"))) == names(people, "ana")


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (all_of(c("shoe_size", "equals", "9")), "no field"),
        (all_of(c("custom:nope", "equals", "9")), "no field"),
        (all_of(c("first_name", "before", "2020-01-01")), "cannot be compared"),
        (all_of(c("first_name", "equals", "")), "enter a value"),
        (all_of(c("created_at", "before", "yesterday")), "YYYY-MM-DD"),
        (all_of(c("last_texted_at", "within_days", "lots")), "number of days"),
        (all_of(c("consent", "is", "maybe")), "consent state"),
        ({"match": "most", "conditions": []}, "all or any"),
        ({"match": "all", "conditions": "x"}, "list of conditions"),
        ("not an object", "must be an object"),
        (all_of(all_of(all_of(all_of(c("first_name", "is_set"))))), "nested"),
        (all_of(*[c("first_name", "is_set")] * 51), "at most 50"),
    ],
)
def test_a_definition_that_cannot_work_is_refused_in_words(world, people, definition, message):
    with pytest.raises(SegmentError, match=message):
        compile_definition(world.admissions, definition)


def test_a_saved_segment_counts_the_same_contacts_each_time(world, people):
    definition = all_of(c("tag", "has", "fall-2027"))
    segment = actions.save_segment(
        world.alice, world.admissions, name="Fall", definition=definition
    )
    first = list(contacts_in(segment).values_list("pk", flat=True).order_by("pk"))
    again = list(contacts_in(segment).values_list("pk", flat=True).order_by("pk"))
    assert first == again == sorted([people["ana"].pk, people["ed"].pk])


def test_saving_checks_the_conditions_and_the_name(world, people):
    with pytest.raises(actions.SegmentRefused, match="no field"):
        actions.save_segment(
            world.alice, world.admissions, name="Bad", definition=all_of(c("x", "equals", "y"))
        )
    actions.save_segment(world.alice, world.admissions, name="Fall", definition=all_of())
    with pytest.raises(actions.SegmentRefused, match="already"):
        actions.save_segment(world.alice, world.admissions, name="fall", definition=all_of())
    actions.save_segment(world.charlie, world.financial_aid, name="Fall", definition=all_of())
    assert Segment.objects.filter(team=world.admissions).count() == 1


def test_static_lists_hold_hand_picked_contacts_of_their_team_only(world, people):
    segment = actions.new_list(world.alice, world.admissions, "VIPs")
    other_team = Contact.objects.get(team=world.financial_aid)
    added = actions.add_to_list(world.alice, segment, [people["ana"].pk, other_team.pk])
    assert added == 1
    assert list(contacts_in(segment)) == [people["ana"]]
    actions.remove_from_list(world.alice, segment, [people["ana"].pk])
    assert not contacts_in(segment).exists()


def test_the_live_count_answers_while_editing(world, people, client):
    client.force_login(world.bob)
    url = f"/teams/{world.admissions.pk}/segments/count/"
    response = client.post(
        url, {"definition": json.dumps(all_of(c("last_name", "equals", "Lima")))}
    )
    assert '<strong class="count">2</strong>' in response.content.decode()
    response = client.post(url, {"definition": json.dumps(all_of(c("nope", "equals", "x")))})
    assert "no field" in response.content.decode()
    response = client.post(url, {"definition": "{not json"})
    assert "list of conditions" in response.content.decode()


def test_the_editor_saves_a_segment_from_its_form(world, people, client):
    client.force_login(world.bob)
    definition = all_of(c("tag", "has", "fall-2027"), c("consent", "is", "subscribed"))
    response = client.post(
        f"/teams/{world.admissions.pk}/segments/new/",
        {"name": "Fall admits", "definition": json.dumps(definition)},
    )
    assert response.status_code == 302
    segment = Segment.objects.get(name="Fall admits")
    assert segment.definition == definition
    page = client.get(f"/teams/{world.admissions.pk}/segments/{segment.pk}/contacts/")
    assert page.context["total"] == 2


def test_recent_windows_follow_the_clock(world, people, clock):
    Contact.objects.filter(pk=people["ed"].pk).update(last_texted_at=clock.now())
    assert who(world, all_of(c("last_texted_at", "within_days", 1))) == names(people, "ed")
    clock.advance(2 * 86400)
    assert who(world, all_of(c("last_texted_at", "within_days", 1))) == set()


# --- who got, or answered, a send --------------------------------------------------------------


def send_to(user, inbox, contacts, name: str, **kwargs):
    from textdesk.campaigns.actions import create_send

    inbox.window_start, inbox.window_end = time(0, 0), time(23, 59, 59)
    inbox.save()
    segment = Segment.objects.create(team=inbox.team, name=f"For {name}", kind="static")
    segment.members.add(*contacts)
    return create_send(
        user,
        inbox=inbox,
        phone_number=inbox.phone_numbers.get(),
        segments=[segment],
        body="Open day is Saturday!",
        confirmed=True,
        name=name,
        **kwargs,
    )


def test_a_send_condition_tells_who_got_it_and_who_answered(world, people):
    receive_text(world.shared, "Before anything was sent", sender=people["ed"].phone)
    send = send_to(world.alice, world.shared, [people[k] for k in ("ana", "bo", "ed")], "Open day")
    tomorrow = timezone.now() + timedelta(days=1)
    scheduled = send_to(world.alice, world.shared, [people["ana"]], "Later", scheduled_at=tomorrow)
    drain()
    receive_text(world.shared, "Can I bring my mum?", sender=people["bo"].phone)

    assert who(world, all_of(c("send", "got", send.pk))) == names(people, "ana", "bo", "ed")
    assert who(world, all_of(c("send", "replied", send.pk))) == names(people, "bo")
    assert who(world, all_of(c("send", "not_replied", send.pk))) == names(people, "ana", "ed")
    assert who(world, all_of(c("send", "got", scheduled.pk))) == set()


@pytest.mark.parametrize("value", [None, "x", "12abc"])
def test_a_send_condition_without_a_send_is_refused(world, people, value):
    with pytest.raises(SegmentError, match="Choose a send"):
        compile_definition(world.admissions, all_of(c("send", "got", value)))


def test_another_teams_send_cannot_be_used(world, people):
    aid_contact = Contact.objects.get(team=world.financial_aid)
    theirs = send_to(world.charlie, world.charlie_inbox, [aid_contact], "Aid night")
    with pytest.raises(SegmentError, match="of this team"):
        compile_definition(world.admissions, all_of(c("send", "got", theirs.pk)))


def test_a_send_condition_reads_as_the_sends_name_and_lists_only_sends_you_may_open(
    world, people, client
):
    shared = send_to(world.alice, world.shared, [people["ana"]], "Open day")
    send_to(world.alice, world.alice_personal, [people["bo"]], "Alice's follow-up")
    assert describe(world.admissions, all_of(c("send", "not_replied", shared.pk))) == (
        "got but did not reply to the send “Open day”"
    )
    client.force_login(world.bob)
    page = client.get(f"/teams/{world.admissions.pk}/segments/new/")
    assert [s.pk for s in page.context["sends"]] == [shared.pk]
    assert "follow-up" not in page.content.decode()


# --- who answered an event, and how ----------------------------------------------------------


def test_an_event_condition_follows_the_answers_as_they_stand(world, people):
    from textdesk.events.models import Invitation
    from textdesk.events.rsvp import answer

    event = create_event(world.admissions, world.shared)
    invitations = {
        key: Invitation.objects.create(event=event, contact=people[key], invited_at=event.starts_at)
        for key in ("ana", "bo", "ed")
    }
    answer(invitations["ana"], yes=True)
    answer(invitations["bo"], yes=False)

    assert who(world, all_of(c("event", "confirmed", event.pk))) == names(people, "ana")
    assert who(world, all_of(c("event", "declined", event.pk))) == names(people, "bo")
    assert who(world, all_of(c("event", "invited", event.pk))) == names(people, "ed")
    assert who(world, all_of(c("event", "any", event.pk))) == names(people, "ana", "bo", "ed")
    answer(invitations["ed"], yes=True)
    assert who(world, all_of(c("event", "confirmed", event.pk))) == names(people, "ana", "ed")
    assert describe(world.admissions, all_of(c("event", "confirmed", event.pk))) == (
        "confirmed for the event “Open Day”"
    )


def test_an_event_condition_needs_one_of_the_teams_events(world, people):
    theirs = create_event(world.financial_aid, world.charlie_inbox, "Aid night")
    with pytest.raises(SegmentError, match="Choose an event of this team"):
        compile_definition(world.admissions, all_of(c("event", "any", theirs.pk)))
    with pytest.raises(SegmentError, match="Choose an event"):
        compile_definition(world.admissions, all_of(c("event", "any", "x")))
