from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from textdesk.accounts.models import Team, User
from textdesk.campaigns.merge import TemplateError, check_fields
from textdesk.campaigns.models import MessageTemplate, Send
from textdesk.compliance import audit
from textdesk.contacts.models import ContactField, Segment
from textdesk.conversations.models import MAX_BODY_LENGTH
from textdesk.inboxes.models import Inbox, PhoneNumber
from textdesk.inboxes.queries import can_access_inbox
from textdesk.live.events import publish

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


# --- Sends -----------------------------------------------------------------------------------

# Sends to at least this many people need an explicit confirmation.
CONFIRM_AT = 50  # the same threshold the review step shows


class SendRefused(ValueError):
    """A send that cannot go out as asked, said plainly."""


def check_send_body(team: Team, body: str, media_urls: list[str]) -> None:
    if not body.strip() and not media_urls:
        raise SendRefused("Write the message, or attach a picture.")
    if len(body) > MAX_BODY_LENGTH:
        raise SendRefused(f"A text is at most {MAX_BODY_LENGTH:,} characters.")
    try:
        check_fields(body, known_fields(team))
    except TemplateError as e:
        raise SendRefused(str(e)) from None


@transaction.atomic
def create_send(
    user: User,
    *,
    inbox: Inbox,
    phone_number: PhoneNumber,
    segments: list[Segment],
    excluded_segments: list[Segment] = (),
    body: str,
    media_urls: list[str] = (),
    outside_window: str = Send.OutsideWindow.WAIT,
    scheduled_at: datetime | None = None,
    confirmed: bool = False,
    name: str = "",
    estimated_finish_at: datetime | None = None,
    event=None,
) -> Send:
    """Schedule a send, or start it now. Nothing is expanded here: the worker streams the
    audience into queued messages, so the first text goes out within a second or so."""
    team = inbox.team
    if not can_access_inbox(user, inbox):
        raise SendRefused("You do not have access to this inbox.")
    if phone_number.inbox_id != inbox.pk:
        raise SendRefused("That number does not belong to this inbox.")
    if not segments:
        raise SendRefused("Choose who gets it: at least one segment.")
    if any(s.team_id != team.pk for s in [*segments, *excluded_segments]):
        raise SendRefused("Segments must belong to the inbox's team.")
    if event is not None and event.inbox_id != inbox.pk:
        raise SendRefused("An event's invitations go out from the event's inbox.")
    body = inbox.with_footer(body)
    check_send_body(team, body, list(media_urls))
    if outside_window not in Send.OutsideWindow.values:
        raise SendRefused("Choose what happens to people outside their sending window.")
    now = timezone.now()
    if scheduled_at is not None and scheduled_at < now - timedelta(minutes=1):
        raise SendRefused("That time has passed; choose a time to come, or send now.")
    from textdesk.campaigns.expansion import audience_of, start_send

    audience_size = audience_of(team, segments, list(excluded_segments)).count()
    if audience_size == 0:
        raise SendRefused("Nobody is in that audience.")
    if audience_size >= CONFIRM_AT and not confirmed:
        raise SendRefused(f"Confirm that {audience_size:,} people should get this text.")
    send = Send.objects.create(
        team=team,
        inbox=inbox,
        phone_number=phone_number,
        created_by=user,
        name=(name or " ".join(body.split())[:60] or "Picture")[:120],
        body=body,
        media_urls=list(media_urls),
        outside_window=outside_window,
        status=Send.Status.SCHEDULED,
        scheduled_at=scheduled_at or now,
        planned_recipients=audience_size,
        estimated_finish_at=estimated_finish_at,
        event=event,
    )
    send.segments.set(segments)
    send.excluded_segments.set(excluded_segments)
    audit.record(
        "send.created", actor=user, inbox_id=inbox.pk, send_id=send.pk, recipients=audience_size
    )
    if scheduled_at is None:
        start_send(send)
        send.refresh_from_db()
    publish("send", inbox_id=inbox.pk, topic=f"send-{send.pk}", send=send.pk)
    return send


def _change(user: User, send: Send, status_from: list[str], status_to: str, action: str) -> bool:
    if not can_access_inbox(user, send.inbox):
        raise SendRefused("You do not have access to this inbox.")
    changed = Send.objects.filter(pk=send.pk, status__in=status_from).update(status=status_to)
    if changed:
        audit.record(action, actor=user, inbox_id=send.inbox_id, send_id=send.pk)
        publish("send", inbox_id=send.inbox_id, topic=f"send-{send.pk}", send=send.pk)
    return bool(changed)


@transaction.atomic
def pause_send(user: User, send: Send) -> bool:
    return _change(user, send, [Send.Status.SENDING], Send.Status.PAUSED, "send.paused")


@transaction.atomic
def resume_send(user: User, send: Send) -> bool:
    return _change(user, send, [Send.Status.PAUSED], Send.Status.SENDING, "send.resumed")


@transaction.atomic
def cancel_send(user: User, send: Send) -> int:
    """Cancel a scheduled send, or stop one in progress; returns texts withdrawn."""
    from textdesk.campaigns.expansion import cancel

    if not can_access_inbox(user, send.inbox):
        raise SendRefused("You do not have access to this inbox.")
    if send.status not in (Send.Status.SCHEDULED, Send.Status.SENDING, Send.Status.PAUSED):
        raise SendRefused("This send is over; there is nothing to cancel.")
    withdrawn = cancel(send)
    if withdrawn is None:
        raise SendRefused("This send is over; there is nothing to cancel.")
    audit.record("send.cancelled", actor=user, inbox_id=send.inbox_id, send_id=send.pk)
    publish("send", inbox_id=send.inbox_id, topic=f"send-{send.pk}", send=send.pk)
    return withdrawn


@transaction.atomic
def reschedule_send(user: User, send: Send, *, scheduled_at: datetime, body: str) -> None:
    """Change a scheduled send's time or text before it starts."""
    if not can_access_inbox(user, send.inbox):
        raise SendRefused("You do not have access to this inbox.")
    if send.status != Send.Status.SCHEDULED:
        raise SendRefused("Only a send that has not started can be changed.")
    if scheduled_at < timezone.now() - timedelta(minutes=1):
        raise SendRefused("That time has passed.")
    check_send_body(send.team, body, send.media_urls)
    changed = Send.objects.filter(pk=send.pk, status=Send.Status.SCHEDULED).update(
        scheduled_at=scheduled_at, body=body
    )
    if not changed:
        raise SendRefused("It has just started; it can no longer be changed.")
    audit.record("send.rescheduled", actor=user, inbox_id=send.inbox_id, send_id=send.pk)
