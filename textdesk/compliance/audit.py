"""The audit trail: one function that every action calls inside its own transaction."""

from typing import Any

from textdesk.accounts.models import User
from textdesk.compliance.models import AuditEvent
from textdesk.core import clock


def record(
    action: str,
    *,
    actor: User | None,
    inbox_id: int | None = None,
    conversation_id: int | None = None,
    **data: Any,
) -> AuditEvent:
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        inbox_id=inbox_id,
        conversation_id=conversation_id,
        data=data,
        created_at=clock.now(),
    )
