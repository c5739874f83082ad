from django import forms

from textdesk.conversations.models import MAX_BODY_LENGTH


class ReplyForm(forms.Form):
    # Not required here: a picture alone is a message too (send_reply decides).
    body = forms.CharField(
        max_length=MAX_BODY_LENGTH,
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a reply…"}),
    )
    media = forms.FileField(required=False)
    # The newest message the page showed when the reply was begun (see send_reply).
    seen = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    body = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "A note for the team; @name to notify someone"}
        ),
        error_messages={"required": "Write a note first."},
    )


class NewConversationForm(forms.Form):
    body = forms.CharField(
        max_length=MAX_BODY_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a message…"}),
        error_messages={"required": "Write a message first."},
    )
    number = forms.CharField(
        max_length=40,
        label="To",
        widget=forms.TextInput(
            attrs={
                "placeholder": "(617) 555-0100 or +44 7700 900123",
                "autocomplete": "off",
                "inputmode": "tel",
            }
        ),
        error_messages={"required": "Enter a phone number."},
    )

    send_anyway = forms.BooleanField(
        required=False,
        label="Send it anyway, outside their sending hours",
        widget=forms.CheckboxInput(),
    )

    field_order = ["number", "body", "send_anyway"]
