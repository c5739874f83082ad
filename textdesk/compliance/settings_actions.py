"""Changes to compliance settings: saved with an audit record of what changed."""

from django.db import transaction

from textdesk.accounts.models import Team, User
from textdesk.compliance import audit

TEAM_FIELDS = ("opt_out_reply", "opt_in_reply", "help_reply", "notify_emails")


@transaction.atomic
def save_team_compliance(user: User, team: Team, values: dict) -> list[str]:
    """Save the team's keyword answers and notification addresses; returns what changed."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    changed = [name for name in TEAM_FIELDS if getattr(team, name) != values[name]]
    if not changed:
        return []
    before = {name: getattr(team, name) for name in changed}
    for name in changed:
        setattr(team, name, values[name])
    team.save(update_fields=changed)
    audit.record(
        "settings.team_compliance",
        actor=user,
        team_id=team.pk,
        changed={name: {"from": before[name], "to": values[name]} for name in changed},
    )
    return changed
