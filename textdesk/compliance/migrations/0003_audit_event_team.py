from django.db import migrations, models


def fill_in_teams(apps, schema_editor):
    """Earlier events named their team in their data, or only through their inbox."""
    AuditEvent = apps.get_model("compliance", "AuditEvent")
    Inbox = apps.get_model("inboxes", "Inbox")
    team_of_inbox = dict(Inbox.objects.values_list("pk", "team_id"))
    changed = []
    for event in AuditEvent.objects.filter(team_id__isnull=True).iterator(chunk_size=2000):
        team_id = (event.data or {}).get("team_id") or team_of_inbox.get(event.inbox_id)
        if team_id:
            event.team_id = team_id
            changed.append(event)
        if len(changed) >= 2000:
            AuditEvent.objects.bulk_update(changed, ["team_id"])
            changed = []
    AuditEvent.objects.bulk_update(changed, ["team_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0002_consent_history"),
        ("inboxes", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="team_id",
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(fill_in_teams, migrations.RunPython.noop),
    ]
