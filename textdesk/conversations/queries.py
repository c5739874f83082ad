"""Reads for the inbox pages. Each list is a fixed, small number of queries however long it is."""

from django.db.models import QuerySet
from django.http import Http404

from textdesk.conversations.models import Conversation, Message
from textdesk.inboxes.models import Inbox

THREAD_LENGTH = 200


class ListFilter:
    ALL = "all"
    UNREPLIED = "unreplied"
    CHOICES = ((ALL, "All"), (UNREPLIED, "Unreplied"))

    @classmethod
    def parse(cls, value: str | None) -> str:
        return value if value in (cls.ALL, cls.UNREPLIED) else cls.ALL


def conversations_in(inbox: Inbox, show: str = ListFilter.ALL) -> QuerySet[Conversation]:
    """Latest activity first; ``unreplied`` keeps those whose newest message is inbound."""
    conversations = inbox.conversations.select_related("contact").order_by(
        "-last_message_at", "-id"
    )
    if show == ListFilter.UNREPLIED:
        conversations = conversations.filter(needs_reply=True)
    return conversations


def get_conversation_or_404(inbox: Inbox, conversation_id: int) -> Conversation:
    try:
        return (
            Conversation.objects.select_related("contact", "inbox", "phone_number")
            .filter(inbox=inbox)
            .get(pk=conversation_id)
        )
    except Conversation.DoesNotExist:
        raise Http404("No such conversation") from None


def thread_of(conversation: Conversation) -> list[Message]:
    """The newest messages of a conversation, oldest first, as the page shows them."""
    newest = list(
        conversation.messages.select_related("sent_by").order_by("-created_at", "-id")[
            :THREAD_LENGTH
        ]
    )
    newest.reverse()
    return newest
