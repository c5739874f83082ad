"""`manage.py add_inbox`: create or extend an inbox from the command line, safely and repeatably."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from textdesk.accounts.models import Membership, Team
from textdesk.inboxes.models import Inbox, InboxAccess, PhoneNumber
from textdesk.testing import ALICE_PERSONAL_NUMBER, SHARED_NUMBER, create_team, create_user

NEW_NUMBER = "+16175550177"


def add_inbox(*args: str) -> str:
    out = io.StringIO()
    call_command("add_inbox", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Team, Membership, Inbox, PhoneNumber, InboxAccess)
    }


def access_list(inbox: Inbox) -> set[str]:
    return set(inbox.access.values_list("user__username", flat=True))


def role_in(team: Team, username: str) -> str | None:
    membership = Membership.objects.filter(team=team, user__username=username).first()
    return membership.role if membership else None


def test_it_creates_a_shared_inbox_with_its_number_and_members(world):
    create_user("dave")
    create_user("erin")

    out = add_inbox(
        "Alumni", "--number", NEW_NUMBER, "--team", "Admissions", "--member", "dave", "erin"
    )

    inbox = Inbox.objects.get(team=world.admissions, name="Alumni")
    assert inbox.kind == Inbox.Kind.SHARED
    assert inbox.owner is None
    assert list(inbox.phone_numbers.values_list("number", "provider")) == [
        (NEW_NUMBER, "simulator")
    ]
    assert access_list(inbox) == {"dave", "erin"}
    assert role_in(world.admissions, "dave") == Membership.Role.MEMBER
    assert role_in(world.admissions, "erin") == Membership.Role.MEMBER
    assert "Created inbox 'Alumni' in Admissions" in out
    assert NEW_NUMBER in out


def test_members_can_be_given_with_repeated_member_options(world):
    create_user("dave")

    add_inbox("Alumni", "--number", NEW_NUMBER, "--member", "dave", "--member", "bob")

    assert access_list(Inbox.objects.get(name="Alumni")) == {"dave", "bob"}


def test_giving_a_team_admin_access_keeps_their_admin_role(world):
    add_inbox("Alumni", "--number", NEW_NUMBER, "--team", "Admissions", "--member", "alice")

    assert access_list(Inbox.objects.get(name="Alumni")) == {"alice"}
    assert role_in(world.admissions, "alice") == Membership.Role.ADMIN


def test_it_creates_a_personal_inbox_for_the_named_user(world):
    create_user("dave")

    out = add_inbox("Dave's line", "--number", NEW_NUMBER, "--personal-for", "dave")

    inbox = Inbox.objects.get(team=world.admissions, name="Dave's line")
    assert inbox.kind == Inbox.Kind.PERSONAL
    assert inbox.owner.username == "dave"
    assert list(inbox.phone_numbers.values_list("number", flat=True)) == [NEW_NUMBER]
    assert access_list(inbox) == set()
    assert role_in(world.admissions, "dave") == Membership.Role.MEMBER
    assert 'Created inbox "Dave\'s line" in Admissions' in out


def test_running_it_twice_changes_nothing_and_says_so(world):
    create_user("dave")
    args = ("Alumni", "--number", NEW_NUMBER, "--team", "Admissions", "--member", "dave", "bob")
    add_inbox(*args)
    before = row_counts()

    out = add_inbox(*args)

    assert row_counts() == before
    assert out.strip() == "Unchanged: inbox 'Alumni' in Admissions"


def test_rerunning_for_an_existing_inbox_exactly_as_it_is_changes_nothing(world):
    before = row_counts()

    out = add_inbox("Admissions", "--number", SHARED_NUMBER, "--member", "alice", "bob")

    assert row_counts() == before
    assert out.startswith("Unchanged:")


def test_running_a_personal_inbox_twice_changes_nothing(world):
    before = row_counts()

    out = add_inbox("Alice's line", "--number", ALICE_PERSONAL_NUMBER, "--personal-for", "alice")

    assert row_counts() == before
    assert out.startswith("Unchanged:")


def test_a_second_run_with_an_extra_member_only_adds_them(world):
    create_user("dave")
    create_user("erin")
    add_inbox("Alumni", "--number", NEW_NUMBER, "--member", "dave")

    out = add_inbox("Alumni", "--number", NEW_NUMBER, "--member", "erin")

    inbox = Inbox.objects.get(name="Alumni")
    assert access_list(inbox) == {"dave", "erin"}
    assert inbox.phone_numbers.count() == 1
    assert Inbox.objects.filter(name="Alumni").count() == 1
    assert role_in(world.admissions, "dave") == Membership.Role.MEMBER
    assert out.startswith("Updated inbox 'Alumni' in Admissions")
    assert "erin given access" in out
    assert "dave" not in out


def test_a_number_typed_in_national_format_is_stored_in_e164(world):
    add_inbox("Alumni", "--number", "(617) 555-0177")

    assert PhoneNumber.objects.get(inbox__name="Alumni").number == "+16175550177"


def test_the_same_number_in_another_format_is_recognised_on_a_second_run(world):
    add_inbox("Alumni", "--number", "(617) 555-0177")
    before = row_counts()

    out = add_inbox("Alumni", "--number", "+1 617.555.0177")

    assert row_counts() == before
    assert out.startswith("Unchanged:")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("banana", "'banana' is not a phone number"),
        ("617-555", "'617-555' is not a valid phone number"),
        ("+1 (123) 555-0177", "'+1 (123) 555-0177' is not a valid phone number"),
        ("  ", "Enter a phone number"),
    ],
)
def test_a_bad_number_is_refused_clearly_and_nothing_is_written(world, typed, message):
    create_user("dave")
    before = row_counts()

    with pytest.raises(CommandError, match=re.escape(message)):
        add_inbox("Alumni", "--number", typed, "--member", "dave")

    assert row_counts() == before
    assert not Inbox.objects.filter(name="Alumni").exists()


def test_a_landline_is_refused(world):
    before = row_counts()

    with pytest.raises(CommandError, match=r"'\+442079460000' cannot send texts.*landline"):
        add_inbox("London", "--number", "+442079460000")

    assert row_counts() == before


def test_an_unknown_member_is_named_and_nothing_is_written(world):
    create_user("dave")
    before = row_counts()

    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        add_inbox("Alumni", "--number", NEW_NUMBER, "--member", "dave", "nobody")

    assert row_counts() == before
    assert not Inbox.objects.filter(name="Alumni").exists()
    assert not PhoneNumber.objects.filter(number=NEW_NUMBER).exists()
    assert not InboxAccess.objects.filter(user__username="dave").exists()
    assert role_in(world.admissions, "dave") is None


def test_an_unknown_member_added_to_an_existing_inbox_changes_nothing(world):
    create_user("dave")
    before = row_counts()

    with pytest.raises(CommandError, match="'nobody'"):
        add_inbox("Admissions", "--number", SHARED_NUMBER, "--member", "dave", "nobody")

    assert row_counts() == before
    assert access_list(world.shared) == {"alice", "bob"}


def test_an_unknown_personal_for_user_is_named_and_nothing_is_written(world):
    before = row_counts()

    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        add_inbox("Nobody's line", "--number", NEW_NUMBER, "--personal-for", "nobody")

    assert row_counts() == before
    assert not Inbox.objects.filter(name="Nobody's line").exists()
    assert not PhoneNumber.objects.filter(number=NEW_NUMBER).exists()


def test_an_unknown_team_is_refused_with_the_list_of_teams(world):
    before = row_counts()

    with pytest.raises(CommandError) as raised:
        add_inbox("Alumni", "--number", NEW_NUMBER, "--team", "Alumni Relations")

    assert str(raised.value) == (
        "There is no team 'Alumni Relations' (teams: Admissions, Financial Aid)."
    )
    assert row_counts() == before


def test_the_team_can_be_named(world):
    add_inbox("Scholarships", "--number", NEW_NUMBER, "--team", "Financial Aid")

    assert Inbox.objects.get(name="Scholarships").team == world.financial_aid


def test_an_inbox_name_is_only_unique_within_its_team(world):
    add_inbox("Admissions", "--number", NEW_NUMBER, "--team", "Financial Aid")

    assert Inbox.objects.filter(name="Admissions").count() == 2
    assert PhoneNumber.objects.get(number=NEW_NUMBER).inbox.team == world.financial_aid
    assert list(world.shared.phone_numbers.values_list("number", flat=True)) == [SHARED_NUMBER]


def test_without_a_team_it_uses_the_oldest_team(world):
    create_team("Aardvark Society")  # first by name, but the newest

    out = add_inbox("Alumni", "--number", NEW_NUMBER)

    assert Inbox.objects.get(name="Alumni").team == world.admissions
    assert "in Admissions" in out


def test_without_any_team_it_creates_a_default_team(db):
    create_user("dave")

    out = add_inbox("Front desk", "--number", NEW_NUMBER, "--member", "dave")

    team = Team.objects.get()
    assert team.name == "Default"
    assert Inbox.objects.get(name="Front desk").team == team
    assert role_in(team, "dave") == Membership.Role.MEMBER
    assert "in Default" in out


def test_a_refused_request_on_an_empty_database_does_not_create_the_default_team(db):
    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        add_inbox("Front desk", "--number", NEW_NUMBER, "--member", "nobody")
    with pytest.raises(CommandError, match="not a phone number"):
        add_inbox("Front desk", "--number", "banana")

    assert not Team.objects.exists()


def test_a_number_already_on_another_inbox_is_refused(world):
    before = row_counts()

    with pytest.raises(
        CommandError, match=r"\+16175550101 already belongs to the inbox 'Admissions'"
    ):
        add_inbox("Alumni", "--number", "(617) 555-0101", "--member", "bob")

    assert row_counts() == before
    assert not Inbox.objects.filter(name="Alumni").exists()
    assert PhoneNumber.objects.get(number=SHARED_NUMBER).inbox == world.shared


def test_a_number_on_another_teams_inbox_is_refused(world):
    before = row_counts()

    with pytest.raises(CommandError, match="already belongs to the inbox 'Financial Aid'"):
        add_inbox("Alumni", "--number", "+16175550103", "--team", "Admissions")

    assert row_counts() == before


def test_a_shared_inbox_cannot_take_the_name_of_a_personal_one(world):
    before = row_counts()

    with pytest.raises(
        CommandError,
        match='"Alice\'s line" already exists in Admissions as a personal inbox of alice',
    ):
        add_inbox("Alice's line", "--number", NEW_NUMBER, "--member", "bob")

    assert row_counts() == before
    world.alice_personal.refresh_from_db()
    assert world.alice_personal.kind == Inbox.Kind.PERSONAL
    assert access_list(world.alice_personal) == set()


def test_a_personal_inbox_cannot_take_the_name_of_a_shared_one(world):
    before = row_counts()

    with pytest.raises(CommandError, match="'Admissions' already exists in Admissions as a shared"):
        add_inbox("Admissions", "--number", NEW_NUMBER, "--personal-for", "bob")

    assert row_counts() == before
    world.shared.refresh_from_db()
    assert world.shared.kind == Inbox.Kind.SHARED
    assert world.shared.owner is None


def test_a_personal_inbox_cannot_be_given_to_another_user(world):
    before = row_counts()

    with pytest.raises(CommandError, match="personal inbox of alice"):
        add_inbox("Alice's line", "--number", ALICE_PERSONAL_NUMBER, "--personal-for", "bob")

    assert row_counts() == before
    world.alice_personal.refresh_from_db()
    assert world.alice_personal.owner == world.alice


def test_personal_for_together_with_member_is_refused(world):
    before = row_counts()

    with pytest.raises(CommandError, match="cannot have --member"):
        add_inbox(
            "Bob's line", "--number", NEW_NUMBER, "--personal-for", "bob", "--member", "alice"
        )

    assert row_counts() == before


def test_the_twilio_provider_is_stored(world):
    add_inbox("Alumni", "--number", NEW_NUMBER, "--provider", "twilio")

    assert PhoneNumber.objects.get(number=NEW_NUMBER).provider == "twilio"


def test_rerunning_with_another_provider_moves_the_number_to_it(world):
    out = add_inbox("Admissions", "--number", SHARED_NUMBER, "--provider", "twilio")

    assert list(world.shared.phone_numbers.values_list("number", "provider")) == [
        (SHARED_NUMBER, "twilio")
    ]
    assert f"number {SHARED_NUMBER} moved to twilio" in out


def test_an_unknown_provider_is_rejected(world):
    before = row_counts()

    with pytest.raises(CommandError, match="invalid choice: 'nexmo'"):
        add_inbox("Alumni", "--number", NEW_NUMBER, "--provider", "nexmo")

    assert row_counts() == before


def test_the_number_is_required(world):
    with pytest.raises(CommandError, match="--number"):
        add_inbox("Alumni")


def test_a_number_s_rate_is_set_on_creation_and_changed_on_request(world):
    add_inbox("Alumni", "--number", NEW_NUMBER, "--team", "Admissions")
    number = PhoneNumber.objects.get(number=NEW_NUMBER)
    assert number.segments_per_second == 10  # a simulator number: visible, not instant
    add_inbox("Alumni", "--number", NEW_NUMBER, "--team", "Admissions")
    number.refresh_from_db()
    assert number.segments_per_second == 10  # running it again changes nothing
    out = add_inbox("Alumni", "--number", NEW_NUMBER, "--team", "Admissions", "--rate", "3")
    number.refresh_from_db()
    assert number.segments_per_second == 3
    assert "now sends 3 segments/s" in out
    add_inbox("Toll free", "--number", "+18005550123", "--provider", "twilio")
    assert PhoneNumber.objects.get(number="+18005550123").segments_per_second == 1


def test_a_rate_that_makes_no_sense_is_refused_and_changes_nothing(world):
    before = row_counts()
    with pytest.raises(CommandError, match="between 0 and 10,000"):
        add_inbox("Alumni", "--number", NEW_NUMBER, "--rate", "0")
    with pytest.raises(CommandError, match="between 0 and 10,000"):
        add_inbox("Alumni", "--number", NEW_NUMBER, "--rate", "-4")
    assert row_counts() == before
