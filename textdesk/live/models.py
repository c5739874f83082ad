from django.db import models


class LiveEvent(models.Model):
    """Something changed that open pages should show: written in the same transaction as the
    change itself, so an event is never announced for a change that was rolled back, and never
    lost for one that committed.

    Events carry ids, not content: a page that hears of one re-fetches what it shows through
    the ordinary views, which check access as always. Processes without a shared channel layer
    (the default in-memory one) learn of each other's events by reading this table.
    """

    inbox_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    user_id = models.BigIntegerField(
        null=True, blank=True, help_text="For events meant for one user (a notification)."
    )
    kind = models.CharField(max_length=32)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"
