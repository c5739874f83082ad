from django.db import models


class WorkerHeartbeat(models.Model):
    """A running worker process, and when it last showed signs of life.

    Messages claimed by a worker that stopped beating (killed, crashed, frozen) are released
    within seconds instead of waiting out a long lease; the next worker to take such a message
    first asks the provider whether it already has it.
    """

    name = models.CharField(max_length=100, primary_key=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.name
