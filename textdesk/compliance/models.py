from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Who did what, and when: written in the same transaction as the change it records."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    # The team it concerns (its admins see it), the inbox's team when there is an inbox.
    team_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    inbox_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    conversation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"


class ConsentChange(models.Model):
    """One change of someone's consent, with what caused it: the opt-out history.

    ``scope`` says what it covers: a team (every inbox of the team; a contact's ``consent`` is
    the team's current state) or every personal inbox of the organisation (a STOP to a
    personal inbox). An erased contact's rows keep their cause and time, under a pseudonym."""

    class Scope(models.TextChoices):
        TEAM = "team", "The team's inboxes"
        PERSONAL = "personal", "Every personal inbox"

    class Cause(models.TextChoices):
        KEYWORD = "keyword", "Keyword"
        USER = "user", "By hand"
        IMPORT = "import", "Import"
        PROVIDER = "provider", "Carrier (error 21610)"
        CONFIRMED = "confirmed", "Revocation confirmed by staff"
        ERASED = "erased", "Opted out before being erased"

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consent_changes",
    )
    phone = models.CharField(max_length=64, help_text="E.164, or a pseudonym once erased.")
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.TEAM)
    opted_out = models.BooleanField(help_text="The state after the change.")
    cause = models.CharField(max_length=16, choices=Cause.choices)
    detail = models.CharField(max_length=255, blank=True, help_text="The keyword, or a reason.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inbox = models.ForeignKey(
        "inboxes.Inbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="consent_change_by_team")]

    def __str__(self) -> str:
        state = "opted out" if self.opted_out else "opted in"
        return f"{self.phone} {state} ({self.cause}) at {self.created_at:%Y-%m-%d %H:%M}"


class PersonalOptOut(models.Model):
    """A number that texted STOP to a personal inbox: no personal inbox of the organisation
    texts it until it opts back in (as Cadence users expect)."""

    phone = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.phone


class EmailNotification(models.Model):
    """An email to send (the outbox for notifications): written in the transaction of what it
    tells about, sent by the worker, so a slow mail server never slows a webhook."""

    to = models.JSONField(default=list)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True, null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.subject


class ErasedNumber(models.Model):
    """A number whose contact was erased while opted out, kept only as a keyed hash so that the
    opt-out survives the erasure: when the number texts in or is imported again, its new contact
    starts opted out (see stewardship.consent_for_new_contact).

    ``team`` is the team whose opt-out it was; empty means the organisation's personal-inbox
    opt-out list (PersonalOptOut, which holds raw numbers). ``phone_hash`` is an HMAC-SHA256 of
    the E.164 number keyed with SECRET_KEY: nobody can read the number back, and nobody
    without the key can test a guess against it."""

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    phone_hash = models.CharField(max_length=64)
    opted_out = models.BooleanField(help_text="The consent the number had when it was erased.")
    erased_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "phone_hash"],
                condition=models.Q(team__isnull=False),
                name="erased_number_unique_team",
            ),
            models.UniqueConstraint(
                fields=["phone_hash"],
                condition=models.Q(team__isnull=True),
                name="erased_number_unique_personal",
            ),
        ]

    def __str__(self) -> str:
        state = "opted out" if self.opted_out else "subscribed"
        return f"{self.phone_hash[:12]}… {state} (team {self.team_id or 'personal'})"
