from django.db import migrations
from django.db.models import Max, OuterRef, Subquery

BATCH = 1000


def backfill_last_inbound_at(apps, schema_editor):
    """Conversations from before unread tracking: their newest inbound text, in batches."""
    Conversation = apps.get_model("conversations", "Conversation")
    Message = apps.get_model("conversations", "Message")
    newest_inbound = (
        Message.objects.filter(conversation=OuterRef("pk"), direction="in")
        .values("conversation")
        .annotate(newest=Max("created_at"))
        .values("newest")
    )
    pending = Conversation.objects.filter(last_inbound_at__isnull=True).order_by("pk")
    last_pk = 0
    while True:
        ids = list(pending.filter(pk__gt=last_pk).values_list("pk", flat=True)[:BATCH])
        if not ids:
            return
        Conversation.objects.filter(pk__in=ids).update(last_inbound_at=Subquery(newest_inbound))
        last_pk = ids[-1]


class Migration(migrations.Migration):
    dependencies = [("conversations", "0002_locks_notes_assignment_and_closing")]

    operations = [
        migrations.RunPython(backfill_last_inbound_at, migrations.RunPython.noop, elidable=True),
    ]
