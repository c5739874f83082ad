from textdesk.accounts.models import Membership, Team, User


def ensure_membership(team: Team, user: User, role: str = Membership.Role.MEMBER) -> bool:
    """Make ``user`` a member of ``team`` unless they already are (their role is kept);
    returns whether they joined."""
    _, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    return created
