"""The event form: times in the team's own time zone, words and texts checked before saving,
so that nothing is refused later when a reply or a send needs them."""

import zoneinfo
from datetime import datetime

from django import forms
from django.utils import timezone

from textdesk.accounts.models import Team, User
from textdesk.campaigns.actions import known_fields
from textdesk.campaigns.merge import TemplateError, check_fields
from textdesk.events.models import Event
from textdesk.events.rsvp import words
from textdesk.inboxes.queries import accessible_inboxes

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
EVENT_FIELDS = {"event", "when", "location"}
TEXTS = [
    "invitation_text",
    "confirmed_text",
    "declined_text",
    "waitlisted_text",
    "already_confirmed_text",
    "unclear_text",
    "offer_text",
]


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input read and shown in ``zone`` (the team's), whichever zone the
    request happens to be in: "10:00" for a Boston team is 10:00 in Boston."""

    def __init__(self, *, zone: zoneinfo.ZoneInfo, **kwargs) -> None:
        self.zone = zone
        widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)
        super().__init__(widget=widget, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                ) from None
            if timezone.is_aware(moment):
                return moment
            return timezone.make_aware(moment.replace(second=0, microsecond=0), self.zone)
        return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return timezone.localtime(value, self.zone).strftime(LOCAL_FORMAT)
        return value


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = [
            "name",
            "inbox",
            "starts_at",
            "ends_at",
            "location",
            "capacity",
            "yes_words",
            "no_words",
            "offer_hours",
            *TEXTS,
        ]
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in TEXTS}
        labels = {
            "starts_at": "Starts",
            "ends_at": "Ends",
            "yes_words": "Words that mean yes",
            "no_words": "Words that mean no",
            "offer_hours": "Hours to take an offered place",
            "invitation_text": "Invitation (compose starts from it)",
            "confirmed_text": "Answer to a yes",
            "declined_text": "Answer to a no",
            "waitlisted_text": "Answer to a yes when full",
            "already_confirmed_text": "Answer to a second yes",
            "unclear_text": "Answer to a reply we could not read",
            "offer_text": "Offer of a place from the waitlist",
        }

    def __init__(self, *args, team: Team, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        zone = zoneinfo.ZoneInfo(team.time_zone)
        for name, label in (("starts_at", "Starts"), ("ends_at", "Ends")):
            self.fields[name] = LocalDateTimeField(zone=zone, label=label)
        # Only inboxes of this team the user may work in: the inbox sends the invitations.
        inbox_field = self.fields["inbox"]
        assert isinstance(inbox_field, forms.ModelChoiceField)
        inbox_field.queryset = accessible_inboxes(user).filter(team=team).order_by("name")
        inbox_field.empty_label = None
        self._known = known_fields(team) | EVENT_FIELDS

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        clash = Event.objects.filter(team=self.team, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"There is already an event called {name!r}.")
        return name

    def clean_yes_words(self) -> str:
        return self._clean_words("yes_words", "yes")

    def clean_no_words(self) -> str:
        return self._clean_words("no_words", "no")

    def _clean_words(self, name: str, meaning: str) -> str:
        listing = self.cleaned_data[name]
        if not words(listing):
            raise forms.ValidationError(
                f"List at least one word that means {meaning}, separated by commas."
            )
        return listing

    def _clean_text(self, name: str) -> str:
        text = self.cleaned_data[name]
        known = self._known | ({"deadline"} if name == "offer_text" else set())
        try:
            check_fields(text, known)
        except TemplateError as e:
            hint = " The offer may also use {deadline}." if name == "offer_text" else ""
            raise forms.ValidationError(
                f"{e} Event texts may use {{event}}, {{when}}, {{location}} and the "
                f"contact's fields such as {{first_name|there}}.{hint}"
            ) from None
        return text

    def clean(self) -> dict:
        data = super().clean()
        for name in TEXTS:
            if name in data:
                try:
                    data[name] = self._clean_text(name)
                except forms.ValidationError as e:
                    self.add_error(name, e)
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The event must end after it starts.")
        yes, no = data.get("yes_words"), data.get("no_words")
        if yes and no:
            both = sorted(words(yes) & words(no))
            if both:
                self.add_error(
                    "no_words",
                    f"{', '.join(w.upper() for w in both)} cannot mean both yes and no.",
                )
        return data
