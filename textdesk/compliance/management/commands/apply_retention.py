"""Empty message bodies older than the retention period now, instead of waiting for the
worker's housekeeping (which runs the same function every few minutes)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from textdesk.compliance.stewardship import apply_retention, retention_cutoff


class Command(BaseCommand):
    help = "Empty the bodies and pictures of messages older than MESSAGE_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days instead of MESSAGE_RETENTION_DAYS (0 keeps everything).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be emptied; change nothing."
        )

    def handle(self, *args, days: int | None, dry_run: bool, **options) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        chosen = settings.MESSAGE_RETENTION_DAYS if days is None else days
        cutoff = retention_cutoff(days=chosen)
        if cutoff is None:
            self.stdout.write("Retention is off (0 days): message bodies are kept forever.")
            return
        count = apply_retention(days=chosen, dry_run=dry_run)
        when = f"{cutoff:%Y-%m-%d %H:%M %Z}"
        if dry_run:
            self.stdout.write(f"Would empty {count} messages older than {when} ({chosen} days).")
        else:
            self.stdout.write(f"Emptied {count} messages older than {when} ({chosen} days).")
