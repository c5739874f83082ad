from django import template

from textdesk.accounts.models import Team, User
from textdesk.compliance.queries import is_team_admin

register = template.Library()


@register.filter
def administered_by(team: Team, user: User) -> bool:
    """{% if team|administered_by:request.user %}: the user is one of the team's admins."""
    return bool(user and user.is_authenticated and is_team_admin(user, team))
