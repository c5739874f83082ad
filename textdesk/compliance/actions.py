"""Writes of the audit pages: exports of the audit trail and the opt-out history are audited
themselves (phone numbers and texts leave Textdesk: who took them, with which filters)."""

from django.db import transaction

from textdesk.accounts.models import Team, User
from textdesk.compliance import audit


@transaction.atomic
def record_audit_export(user: User, team: Team, filters: dict[str, str]) -> None:
    audit.record("audit.exported", actor=user, team_id=team.pk, filters=filters)


@transaction.atomic
def record_opt_out_export(user: User, team: Team, filters: dict[str, str]) -> None:
    audit.record("opt_outs.exported", actor=user, team_id=team.pk, filters=filters)
