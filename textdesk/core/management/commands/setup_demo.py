"""`make run`'s first-time setup: a team, an admin, and two inboxes on the simulator."""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from textdesk.accounts.actions import ensure_membership
from textdesk.accounts.models import Membership, Team, User
from textdesk.inboxes.actions import ensure_inbox
from textdesk.providers.names import ProviderName

TEAM_NAME = "Admissions"
ADMIN_USERNAME = "admin"
SHARED_INBOX = ("Admissions", "+16175550199")
PERSONAL_INBOX = ("Admin's line", "+16175550198")


class Command(BaseCommand):
    help = "On a new install (no users yet), create a demo team, admin user and inboxes."

    def handle(self, *args, **options) -> None:
        if User.objects.exists():
            self.stdout.write("Textdesk is already set up; sign in with your existing account.")
            return
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            admin = User.objects.create_superuser(
                ADMIN_USERNAME, password=password, first_name="Admin"
            )
            team, _ = Team.objects.get_or_create(name=TEAM_NAME)
            ensure_membership(team, admin, role=Membership.Role.ADMIN)
            ensure_inbox(
                SHARED_INBOX[0],
                number=SHARED_INBOX[1],
                team=team,
                provider=ProviderName.SIMULATOR,
                members=[ADMIN_USERNAME],
            )
            ensure_inbox(
                PERSONAL_INBOX[0],
                number=PERSONAL_INBOX[1],
                team=team,
                provider=ProviderName.SIMULATOR,
                personal_for=ADMIN_USERNAME,
            )
        line = "=" * 64
        self.stdout.write(
            f"\n{line}\n"
            f"  Textdesk demo created: team {TEAM_NAME!r},\n"
            f"  shared inbox {SHARED_INBOX[0]!r} ({SHARED_INBOX[1]}),\n"
            f"  personal inbox {PERSONAL_INBOX[0]!r} ({PERSONAL_INBOX[1]}).\n\n"
            f"  Sign in as:  {ADMIN_USERNAME}\n"
            f"  Password:    {password}\n\n"
            f"  This password is shown only once. Change it under /admin/.\n"
            f"{line}\n"
        )
