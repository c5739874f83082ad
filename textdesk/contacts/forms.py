from django import forms

from textdesk.contacts.models import Contact, ContactField
from textdesk.contacts.queries import team_members
from textdesk.core.zones import is_zone

MAX_TAGS = 50


class ContactForm(forms.Form):
    """A contact's editable details; custom fields get a box each."""

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="Nobody")
    time_zone = forms.CharField(
        max_length=64, required=False, help_text="Empty: the zone of the number's area."
    )
    tags = forms.CharField(
        max_length=1000, required=False, help_text="Separated by commas.", label="Tags"
    )

    def __init__(self, *args, contact: Contact, **kwargs) -> None:
        initial = {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "owner": contact.owner_id,
            "time_zone": contact.time_zone,
            "tags": ", ".join(tag.name for tag in contact.tags.all()),
        }
        self.custom_fields = list(ContactField.objects.filter(team=contact.team))
        for field in self.custom_fields:
            initial[f"custom_{field.key}"] = (contact.fields or {}).get(field.key, "")
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["owner"].queryset = team_members(contact.team)
        for field in self.custom_fields:
            self.fields[f"custom_{field.key}"] = forms.CharField(
                label=field.label, max_length=1000, required=False
            )

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data["time_zone"].strip()
        if zone and not is_zone(zone):
            raise forms.ValidationError(f"{zone!r} is not a time zone (e.g. America/Chicago).")
        return zone

    def clean_tags(self) -> list[str]:
        names = {name.strip()[:50] for name in self.cleaned_data["tags"].split(",") if name.strip()}
        if len(names) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags.")
        return sorted(names)

    def custom_values(self) -> dict[str, str]:
        return {f.key: self.cleaned_data.get(f"custom_{f.key}", "") for f in self.custom_fields}
