"""The audit trail: one function that every action calls inside its own transaction."""

from typing import Any

from textdesk.accounts.models import User
from textdesk.compliance.models import AuditEvent
from textdesk.core import clock


def record(
    action: str,
    *,
    actor: User | None,
    team_id: int | None = None,
    inbox_id: int | None = None,
    conversation_id: int | None = None,
    **data: Any,
) -> AuditEvent:
    if team_id is None and inbox_id is not None:
        from textdesk.inboxes.models import Inbox

        team_id = Inbox.objects.filter(pk=inbox_id).values_list("team_id", flat=True).first()
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        team_id=team_id,
        inbox_id=inbox_id,
        conversation_id=conversation_id,
        data=data,
        created_at=clock.now(),
    )
