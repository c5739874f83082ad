"""Contacts at 100,000: how fast they import, how fast segments and the list answer.

Runs against a fresh database of its own: a temporary SQLite file, or (``--db postgres``) a
database created for the run on the PostgreSQL server of DATABASE_URL (default: the local one).
Prints the import rate, then each segment's evaluation time (median of 5 counts) and the first
page of the contact list, each next to a plain COUNT(*) of all contacts measured in the same run.

    .venv/bin/python bench/contacts_scale.py [--db sqlite|postgres] [--rows 100000]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADMIN_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "textdesk_bench"


def prepare(db: str, var_dir: str) -> None:
    os.environ["TEXTDESK_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("DATABASE_URL", None)
    if db == "postgres":
        import psycopg

        base = ADMIN_URL.rsplit("/", 1)[0]
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            connection.execute(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = f"{base}/{BENCH_DB}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def median_ms(action, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        prepare(args.db, var_dir)
        try:
            run(args.db, args.rows)
        finally:
            if args.db == "postgres":
                from django.db import connections

                connections.close_all()
                import psycopg

                with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
                    connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")


def run(db: str, rows: int) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from textdesk.accounts.models import Membership, Team, User
    from textdesk.contacts import imports
    from textdesk.contacts.models import Contact
    from textdesk.contacts.queries import filter_contacts
    from textdesk.contacts.segments import compile_definition

    team = Team.objects.create(name="Admissions")
    user = User.objects.create_user("bench")
    Membership.objects.create(team=team, user=user, role="admin")
    lines = ["phone,first name,last name,term,program,tags,opted out"]
    for n in range(rows):
        term = ("Fall 2027", "Spring 2028", "Fall 2028")[n % 3]
        tags = "visit" if n % 7 == 0 else ""
        lines.append(
            f"+1617{2000000 + n:07d},First{n},Last{n % 5000},{term},P{n % 40},{tags},"
            f"{'yes' if n % 50 == 0 else 'no'}"
        )
    csv_bytes = ("\n".join(lines) + "\n").encode()

    started = time.perf_counter()
    contact_import = imports.start_import(team, user, SimpleUploadedFile("big.csv", csv_bytes))
    imports.set_mapping(contact_import, contact_import.mapping, "US")
    while imports.import_next_batch():
        pass
    seconds = time.perf_counter() - started
    contact_import.refresh_from_db()
    assert contact_import.status == "done", contact_import.error
    print(
        f"{db}: imported {contact_import.created_count:,} of {rows:,} rows in {seconds:.1f} s "
        f"= {contact_import.created_count / seconds:,.0f} rows/s "
        f"({len(csv_bytes) / 1e6:.1f} MB file)"
    )

    everyone = Contact.objects.filter(team=team)
    baseline = median_ms(everyone.count)
    print(f"{db}: baseline COUNT(*) of {everyone.count():,} contacts: {baseline:.1f} ms")
    segments = {
        "tag is visit": {
            "match": "all",
            "conditions": [{"field": "tag", "op": "has", "value": "visit"}],
        },
        "term contains 2027 and subscribed": {
            "match": "all",
            "conditions": [
                {"field": "custom:term", "op": "contains", "value": "2027"},
                {"field": "consent", "op": "is", "value": "subscribed"},
            ],
        },
        "last name starts with Last12 or program is P7": {
            "match": "any",
            "conditions": [
                {"field": "last_name", "op": "starts_with", "value": "Last12"},
                {"field": "custom:program", "op": "equals", "value": "P7"},
            ],
        },
        "never texted us, added in the last 30 days": {
            "match": "all",
            "conditions": [
                {"field": "replied", "op": "never"},
                {"field": "created_at", "op": "within_days", "value": 30},
            ],
        },
    }
    for name, definition in segments.items():
        q = compile_definition(team, definition)
        matched = everyone.filter(q).count()
        elapsed = median_ms(lambda q=q: everyone.filter(q).count())
        print(
            f"{db}: segment '{name}': {matched:,} contacts in {elapsed:.1f} ms "
            f"({elapsed / baseline:.1f}x a plain count)"
        )

    def first_page() -> None:
        contacts = filter_contacts(team, text="Last12", sort="name")
        contacts.count()
        list(contacts[:50])

    elapsed = median_ms(first_page)
    print(
        f"{db}: contact list, search 'Last12', first page with its count: {elapsed:.1f} ms "
        f"({elapsed / baseline:.1f}x a plain count)"
    )


if __name__ == "__main__":
    main()
