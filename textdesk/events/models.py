"""Events a team invites contacts to by text, and each contact's answer.

An *invitation* is open while its event has not ended: the contact's yes or no (by reply, or
set by staff) moves it between the states below, and every move is kept in its history."""

from django.conf import settings
from django.db import models

from textdesk.accounts.models import Team
from textdesk.contacts.models import Contact
from textdesk.inboxes.models import Inbox

DEFAULT_YES_WORDS = "YES, Y, YEP, YEAH, SURE, 1"
DEFAULT_NO_WORDS = "NO, N, NOPE, 2"


class Event(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="events")
    inbox = models.ForeignKey(
        Inbox,
        on_delete=models.PROTECT,
        related_name="events",
        help_text="The inbox that sends the invitations and reads the answers.",
    )
    name = models.CharField(max_length=100)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Leave empty for no limit."
    )
    yes_words = models.CharField(max_length=200, default=DEFAULT_YES_WORDS)
    no_words = models.CharField(max_length=200, default=DEFAULT_NO_WORDS)
    # What goes out: the invitation (compose starts from it) and each automatic answer.
    invitation_text = models.TextField(
        default="Hi {first_name|there}! You're invited to {event} on {when} at {location}. "
        "Reply YES to come or NO if you can't."
    )
    confirmed_text = models.TextField(
        default="You're confirmed for {event} on {when} at {location}. See you there!"
    )
    declined_text = models.TextField(
        default="Thanks for letting us know. We're sorry you can't make {event}."
    )
    waitlisted_text = models.TextField(
        default="{event} is full, so you're on the waitlist. We'll text you if a place opens."
    )
    already_confirmed_text = models.TextField(
        default="You're already confirmed for {event} on {when}. Reply NO if you can't come."
    )
    unclear_text = models.TextField(
        default="Sorry, we didn't get that. Reply YES to come to {event} or NO if you can't."
    )
    offer_text = models.TextField(
        default="A place opened at {event} on {when}! Reply YES by {deadline} to take it."
    )
    offer_hours = models.PositiveIntegerField(
        default=24, help_text="How long someone offered a place from the waitlist has to answer."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="event_unique_team_name"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="event_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", "No answer"
        CONFIRMED = "confirmed", "Confirmed"
        DECLINED = "declined", "Declined"
        WAITLISTED = "waitlisted", "Waitlisted"
        OFFERED = "offered", "Offered a place"
        LAPSED = "lapsed", "Offer lapsed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="invitations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVITED)
    send = models.ForeignKey(
        "campaigns.Send", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    # The waitlist's order: when they joined it.
    waitlisted_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "contact"], name="invitation_unique_contact"),
        ]
        indexes = [
            models.Index(fields=["event", "status"], name="invitation_by_status"),
            models.Index(fields=["contact", "status"], name="invitation_by_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} → {self.event_id}: {self.status}"


class InvitationChange(models.Model):
    """One answer or change of an invitation: by reply, by staff, or by the waitlist."""

    class Cause(models.TextChoices):
        REPLY = "reply", "Reply"
        STAFF = "staff", "Staff"
        WAITLIST = "waitlist", "Waitlist"
        INVITED = "invited", "Invited"

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="changes")
    status = models.CharField(max_length=16, choices=Invitation.Status.choices)
    cause = models.CharField(max_length=16, choices=Cause.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.invitation_id} -> {self.status} ({self.cause})"


class EventQuestion(models.Model):
    """ "Which event?": asked when a contact with open invitations to several events of one
    inbox answered yes or no; their next reply (a number from the list) resolves it."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="+")
    answer_yes = models.BooleanField()
    events = models.JSONField(help_text="The event ids, in the order the question listed them.")
    asked_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["contact", "inbox", "resolved_at"], name="question_open")]

    def __str__(self) -> str:
        return f"Which event? ({self.contact_id}, {len(self.events)} events)"
