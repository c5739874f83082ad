from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from textdesk.accounts.models import Team
from textdesk.inboxes.actions import InboxSetup, SetupError, default_team, ensure_inbox
from textdesk.providers.names import ProviderName


class Command(BaseCommand):
    help = (
        "Create an inbox with a phone number, or add to an existing one. Safe to run again: "
        "it only adds what is missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The inbox's name, unique within its team.")
        parser.add_argument("--number", required=True, help="Its phone number, e.g. +16175550199.")
        parser.add_argument("--team", help="The team's name (default: the first team).")
        parser.add_argument(
            "--provider", choices=ProviderName.values, default=ProviderName.SIMULATOR
        )
        parser.add_argument(
            "--rate",
            type=float,
            metavar="SEGMENTS_PER_SECOND",
            help="The number's throughput, as the carrier allows it (default: 1; simulator: 10).",
        )
        parser.add_argument(
            "--personal-for", metavar="USERNAME", help="Make it this user's personal inbox."
        )
        parser.add_argument(
            "--member",
            metavar="USERNAME",
            nargs="+",
            default=[],
            action="extend",
            help="Users who may work in this shared inbox.",
        )

    def handle(self, *args, **options) -> None:
        # One transaction, so that a refused request does not leave a new default team behind.
        with transaction.atomic():
            setup, team = self._add(options)
        verb = "Created" if setup.created else "Updated" if setup.changes else "Unchanged:"
        details = f" ({'; '.join(setup.changes)})" if setup.changes else ""
        self.stdout.write(f"{verb} inbox {setup.inbox.name!r} in {team}{details}")

    def _add(self, options) -> tuple[InboxSetup, Team]:
        if options["team"]:
            try:
                team = Team.objects.get(name=options["team"])
            except Team.DoesNotExist:
                names = ", ".join(Team.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(
                    f"There is no team {options['team']!r} (teams: {names})."
                ) from None
        else:
            team = default_team()
        try:
            setup = ensure_inbox(
                options["name"],
                number=options["number"],
                team=team,
                provider=options["provider"],
                personal_for=options["personal_for"],
                members=options["member"],
                segments_per_second=options["rate"],
            )
        except SetupError as e:
            raise CommandError(str(e)) from None
        return setup, team
