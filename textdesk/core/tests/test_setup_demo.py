"""`manage.py setup_demo`: `make run`'s first-time team, admin and simulator inboxes."""

import io
import re

from django.core.management import call_command
from django.test import Client

from textdesk.accounts.models import Membership, Team, User
from textdesk.inboxes.models import Inbox, InboxAccess, PhoneNumber
from textdesk.testing import create_user


def setup_demo() -> str:
    out = io.StringIO()
    call_command("setup_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def printed_password(out: str) -> str:
    match = re.search(r"Password:\s+(\S+)", out)
    assert match, out
    return match.group(1)


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Team, Membership, Inbox, PhoneNumber, InboxAccess)
    }


def test_on_an_empty_database_it_creates_an_admin_who_runs_the_demo_team(db):
    setup_demo()

    admin = User.objects.get()
    assert admin.username == "admin"
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.is_active
    team = Team.objects.get()
    assert team.name == "Admissions"
    assert Membership.objects.get(team=team, user=admin).role == Membership.Role.ADMIN


def test_on_an_empty_database_it_creates_a_shared_and_a_personal_inbox_on_the_simulator(db):
    setup_demo()

    admin = User.objects.get()
    team = Team.objects.get()
    shared = Inbox.objects.get(kind=Inbox.Kind.SHARED)
    personal = Inbox.objects.get(kind=Inbox.Kind.PERSONAL)
    assert (shared.team, shared.owner) == (team, None)
    assert (personal.team, personal.owner) == (team, admin)
    assert list(shared.members.all()) == [admin]
    assert shared.phone_numbers.count() == 1
    assert personal.phone_numbers.count() == 1
    assert set(PhoneNumber.objects.values_list("provider", flat=True)) == {"simulator"}
    numbers = set(PhoneNumber.objects.values_list("number", flat=True))
    assert all(re.fullmatch(r"\+1\d{10}", number) for number in numbers)


def test_it_prints_the_password_once_and_it_really_signs_in(db):
    out = setup_demo()

    password = printed_password(out)
    assert len(password) >= 12
    assert out.count(password) == 1
    assert "admin" in out
    assert Client().login(username="admin", password=password)
    assert not Client().login(username="admin", password=password + "x")


def test_each_new_install_gets_its_own_password(db):
    first = printed_password(setup_demo())
    for model in (PhoneNumber, Inbox, User, Team):  # back to a new install
        model.objects.all().delete()

    second = printed_password(setup_demo())

    assert first != second


def test_a_second_run_creates_nothing_and_prints_no_password(db):
    first = setup_demo()
    password = printed_password(first)
    before = row_counts()

    second = setup_demo()

    assert row_counts() == before
    assert "Password" not in second
    assert password not in second
    assert "already set up" in second
    assert Client().login(username="admin", password=password)


def test_it_does_nothing_when_any_user_already_exists(db):
    create_user("dave")
    before = row_counts()

    out = setup_demo()

    assert row_counts() == before
    assert not User.objects.filter(username="admin").exists()
    assert not Team.objects.exists()
    assert not Inbox.objects.exists()
    assert "Password" not in out
    assert "already set up" in out
