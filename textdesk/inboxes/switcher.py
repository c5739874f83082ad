"""The navigation's list of inboxes, with what awaits the user in each."""

from textdesk.accounts.models import User
from textdesk.conversations.queries import unread_counts
from textdesk.inboxes.models import Inbox
from textdesk.inboxes.queries import inboxes_with_unreplied_counts


def switcher_inboxes(user: User) -> list[Inbox]:
    """Accessible inboxes, each with ``unreplied`` and ``unread`` counts (two queries)."""
    inboxes = inboxes_with_unreplied_counts(user)
    unread = unread_counts(user, [inbox.pk for inbox in inboxes])
    for inbox in inboxes:
        inbox.unread = unread.get(inbox.pk, 0)
    return inboxes
