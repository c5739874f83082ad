from django.db import transaction

from textdesk.accounts.models import Team, User
from textdesk.campaigns.merge import TemplateError, check_fields
from textdesk.campaigns.models import MessageTemplate
from textdesk.compliance import audit
from textdesk.contacts.models import ContactField
from textdesk.conversations.models import MAX_BODY_LENGTH

NAME_LENGTH = 100


class TemplateRefused(ValueError):
    """A template that cannot be saved, said plainly."""


def known_fields(team: Team) -> set[str]:
    return set(ContactField.objects.filter(team=team).values_list("key", flat=True))


def check_template(team: Team, body: str) -> None:
    if not body.strip():
        raise TemplateRefused("Write the template's text.")
    if len(body) > MAX_BODY_LENGTH:
        raise TemplateRefused(f"A template is at most {MAX_BODY_LENGTH:,} characters.")
    try:
        check_fields(body, known_fields(team))
    except TemplateError as e:
        raise TemplateRefused(str(e)) from None


@transaction.atomic
def save_template(
    user: User, team: Team, *, name: str, body: str, template: MessageTemplate | None = None
) -> MessageTemplate:
    """Create or change a template. Unknown merge fields are refused now, not at send time."""
    name = " ".join(name.split())
    if not name:
        raise TemplateRefused("Give the template a name.")
    if len(name) > NAME_LENGTH:
        raise TemplateRefused(f"A template's name is at most {NAME_LENGTH} characters.")
    check_template(team, body)
    clash = MessageTemplate.objects.filter(team=team, name__iexact=name)
    if template is not None:
        clash = clash.exclude(pk=template.pk)
    if clash.exists():
        raise TemplateRefused(f"There is already a template called {name!r}.")
    if template is None:
        template = MessageTemplate(team=team, created_by=user)
    template.name = name
    template.body = body
    template.save()
    audit.record("template.saved", actor=user, team_id=team.pk, template_id=template.pk)
    return template


@transaction.atomic
def delete_template(user: User, template: MessageTemplate) -> None:
    audit.record("template.deleted", actor=user, team_id=template.team_id, name=template.name)
    template.delete()
