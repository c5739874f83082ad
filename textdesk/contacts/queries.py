"""Reads for the contact pages. A team's contacts are seen by its members, and nobody else."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from textdesk.accounts.models import Membership, Team, User
from textdesk.contacts.models import Contact, ContactImport, Segment, Tag
from textdesk.conversations.models import Conversation
from textdesk.inboxes.queries import accessible_inboxes

SORTS = {
    "name": ("last_name", "first_name", "id"),
    "-created": ("-created_at", "-id"),
    "-texted": ("-last_texted_at", "-id"),
}


def teams_of(user: User) -> QuerySet[Team]:
    if not user.is_authenticated or not user.is_active:
        return Team.objects.none()
    return Team.objects.filter(Exists(Membership.objects.filter(team=OuterRef("pk"), user=user)))


def get_team_or_404(user: User, team_id: int) -> Team:
    team = teams_of(user).filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team")
    return team


def filter_contacts(
    team: Team,
    *,
    text: str = "",
    tag: str = "",
    owner: str = "",
    consent: str = "",
    sort: str = "name",
) -> QuerySet[Contact]:
    """The team's contacts matching the list page's search box and filters."""
    contacts = Contact.objects.filter(team=team).select_related("owner")
    text = " ".join(text.replace("\x00", "").split())
    if text:
        by_name = Q()
        for word in text.split():
            by_name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        digits = "".join(ch for ch in text if ch.isdigit())
        contacts = contacts.filter(
            by_name | Q(phone__contains=digits) if len(digits) >= 3 else by_name
        )
    if tag:
        tagged = Contact.tags.through.objects.filter(
            contact_id=OuterRef("pk"), tag__team=team, tag__name__iexact=tag
        )
        contacts = contacts.filter(Exists(tagged))
    if owner == "none":
        contacts = contacts.filter(owner__isnull=True)
    elif owner.isdecimal():
        contacts = contacts.filter(owner_id=int(owner))
    if consent in Contact.Consent.values:
        contacts = contacts.filter(consent=consent)
    return contacts.order_by(*SORTS.get(sort, SORTS["name"]))


def get_contact_or_404(team: Team, contact_id: int) -> Contact:
    contact = (
        Contact.objects.filter(team=team, pk=contact_id)
        .select_related("owner", "team")
        .prefetch_related("tags")
        .first()
    )
    if contact is None:
        raise Http404("No such contact")
    return contact


def conversations_of(contact: Contact, viewer: User) -> QuerySet[Conversation]:
    """The contact's conversations in the inboxes the viewer may open (never the others)."""
    return (
        Conversation.objects.filter(contact=contact, inbox__in=accessible_inboxes(viewer))
        .select_related("inbox")
        .order_by("-last_message_at", "-id")
    )


def team_members(team: Team) -> QuerySet[User]:
    return User.objects.filter(memberships__team=team, is_active=True).order_by(
        "first_name", "username"
    )


def tags_of(team: Team) -> QuerySet[Tag]:
    return Tag.objects.filter(team=team)


def get_import_or_404(team: Team, import_id: int) -> ContactImport:
    found = ContactImport.objects.filter(team=team, pk=import_id).first()
    if found is None:
        raise Http404("No such import")
    return found


def get_segment_or_404(team: Team, segment_id: int) -> Segment:
    found = Segment.objects.filter(team=team, pk=segment_id).first()
    if found is None:
        raise Http404("No such segment")
    return found
