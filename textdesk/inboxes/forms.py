from datetime import time

from django import forms
from django.conf import settings

from textdesk.inboxes.models import Inbox
from textdesk.messaging.encoding import analyze_sms


def _clock(text: str) -> time:
    return time.fromisoformat(text)


class InboxSettingsForm(forms.ModelForm):
    """What an inbox admin may change: a sending window inside the organisation's widest
    (they may only make it stricter), the evening warning, and the footer of its sends."""

    class Meta:
        model = Inbox
        fields = ["window_start", "window_end", "evening_warning", "footer"]
        widgets = {
            "window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "evening_warning": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        labels = {
            "window_start": "Bulk texts from",
            "window_end": "Bulk texts until",
            "evening_warning": "Warn when a send runs past",
            "footer": "Footer of every send",
        }

    def clean(self) -> dict:
        data = super().clean()
        earliest = _clock(settings.SENDING_WINDOW_EARLIEST)
        latest = _clock(settings.SENDING_WINDOW_LATEST)
        start, end = data.get("window_start"), data.get("window_end")
        if start is not None and start < earliest:
            self.add_error("window_start", f"No earlier than {earliest:%H:%M} (the rules here).")
        if end is not None and end > latest:
            self.add_error("window_end", f"No later than {latest:%H:%M} (the rules here).")
        if start is not None and end is not None and start >= end:
            self.add_error("window_end", "The window must end after it starts.")
        data["footer"] = " ".join((data.get("footer") or "").split())
        return data

    def footer_cost(self) -> str:
        """What the footer costs, in words: its characters, and whether it forces UCS-2."""
        footer = (self.instance.footer or "").strip()
        if not footer:
            return ""
        analysis = analyze_sms(footer)
        cost = f"{len(footer) + 1} characters with its line break"
        if analysis.ucs2_characters:
            cost += f"; {''.join(analysis.ucs2_characters)} makes every send UCS-2 (70 a segment)"
        return cost
