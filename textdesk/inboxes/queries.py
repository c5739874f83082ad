"""Who may see which inbox. Every page and action that touches an inbox asks here."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from textdesk.accounts.models import Membership, User
from textdesk.inboxes.models import Inbox, InboxAccess


def accessible_inboxes(user: User) -> QuerySet[Inbox]:
    """Inboxes the user may work in.

    - a personal inbox: its owner, while a member of the inbox's team;
    - a shared inbox: members of its team who are on its access list, and the team's admins.
    """
    if not user.is_authenticated or not user.is_active:
        return Inbox.objects.none()
    membership = Membership.objects.filter(team=OuterRef("team"), user=user)
    on_access_list = InboxAccess.objects.filter(inbox=OuterRef("pk"), user=user)
    return Inbox.objects.filter(Exists(membership)).filter(
        Q(kind=Inbox.Kind.PERSONAL, owner=user)
        | Q(kind=Inbox.Kind.SHARED)
        & (Exists(on_access_list) | Exists(membership.filter(role=Membership.Role.ADMIN)))
    )


def can_access_inbox(user: User, inbox: Inbox) -> bool:
    return accessible_inboxes(user).filter(pk=inbox.pk).exists()


def get_inbox_or_404(user: User, inbox_id: int) -> Inbox:
    """The inbox, or 404 both when it does not exist and when the user may not see it, so
    that nobody can probe which inboxes exist."""
    try:
        return accessible_inboxes(user).select_related("team").get(pk=inbox_id)
    except Inbox.DoesNotExist:
        raise Http404("No such inbox") from None


def inboxes_with_unreplied_counts(user: User) -> list[Inbox]:
    """The switcher's list: each accessible inbox with ``unreplied`` set, in one query."""
    awaiting = Q(conversations__needs_reply=True, conversations__closed_at__isnull=True)
    return list(
        accessible_inboxes(user)
        .select_related("team")
        .annotate(unreplied=Count("conversations", filter=awaiting))
        .order_by("team__name", "-kind", "name")
    )


def can_administer_inbox(user: User, inbox: Inbox) -> bool:
    """Inbox admins (the admins of its team) may take over conversations and change settings."""
    return (
        user.is_authenticated
        and Membership.objects.filter(
            team_id=inbox.team_id, user=user, role=Membership.Role.ADMIN
        ).exists()
    )


def inbox_members(inbox: Inbox) -> QuerySet[User]:
    """The users who may work in ``inbox``: the people it can be assigned to or mention."""
    if inbox.is_personal:
        return User.objects.filter(pk=inbox.owner_id, memberships__team_id=inbox.team_id)
    on_list = InboxAccess.objects.filter(inbox=inbox, user=OuterRef("pk"))
    admin = Membership.objects.filter(
        team_id=inbox.team_id, user=OuterRef("pk"), role=Membership.Role.ADMIN
    )
    member = Membership.objects.filter(team_id=inbox.team_id, user=OuterRef("pk"))
    return (
        User.objects.filter(is_active=True)
        .filter(Exists(member))
        .filter(Exists(on_list) | Exists(admin))
        .order_by("first_name", "username")
    )
