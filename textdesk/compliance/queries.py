"""Who may see the compliance pages: a team's admins (Membership role admin)."""

from django.core.exceptions import PermissionDenied

from textdesk.accounts.models import Membership, Team, User
from textdesk.contacts.queries import get_team_or_404


def is_team_admin(user: User, team: Team) -> bool:
    return Membership.objects.filter(team=team, user=user, role=Membership.Role.ADMIN).exists()


def get_team_for_admin(user: User, team_id: int) -> Team:
    """The team, for one of its admins: 404 to outsiders (no hint it exists), 403 to members."""
    team = get_team_or_404(user, team_id)
    if not is_team_admin(user, team):
        raise PermissionDenied("Only the team's admins may open this page.")
    return team
