"""Reading sends for other pages."""

from django.db.models import QuerySet

from textdesk.accounts.models import Team, User
from textdesk.campaigns.models import Send
from textdesk.inboxes.queries import accessible_inboxes

SENDS_TO_CHOOSE = 200


def sends_to_choose(user: User, team: Team) -> QuerySet[Send]:
    """The team's sends that have started, newest first, from inboxes ``user`` may open: the
    ones a segment can ask about (who got, or answered, which)."""
    return (
        Send.objects.filter(team=team, inbox__in=accessible_inboxes(user), started_at__isnull=False)
        .only("pk", "name", "started_at")
        .order_by("-started_at", "-pk")[:SENDS_TO_CHOOSE]
    )
