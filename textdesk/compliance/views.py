"""Consent by hand (any member opts a contact out; admins opt them back in), and a team's
compliance settings (admins)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from textdesk.accounts.models import Team
from textdesk.compliance import consent, settings_actions
from textdesk.compliance.queries import get_team_for_admin, is_team_admin
from textdesk.contacts.queries import get_contact_or_404, get_team_or_404


@require_POST
@login_required
def change_consent(request: HttpRequest, team_id: int, contact_id: int) -> HttpResponse:
    team = get_team_or_404(request.user, team_id)
    contact = get_contact_or_404(team, contact_id)
    reason = request.POST.get("reason", "")
    try:
        if request.POST.get("consent") == "opted_out":
            consent.opt_out_by_hand(request.user, contact, reason)
            messages.success(request, f"{contact.display_name} is opted out.")
        else:
            # Texting someone again needs their consent: an admin vouches for it.
            if not is_team_admin(request.user, team):
                raise PermissionDenied("Only the team's admins may opt someone back in.")
            consent.opt_in_by_hand(request.user, contact, reason)
            messages.success(request, f"{contact.display_name} is opted back in.")
    except consent.ConsentRefused as e:
        messages.error(request, str(e))
    return redirect("contact", team_id=team.pk, contact_id=contact.pk)


class TeamComplianceForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["opt_out_reply", "opt_in_reply", "help_reply", "notify_emails"]
        widgets = {
            "opt_out_reply": forms.Textarea(attrs={"rows": 2}),
            "opt_in_reply": forms.Textarea(attrs={"rows": 2}),
            "help_reply": forms.Textarea(attrs={"rows": 2}),
        }
        error_messages = {
            name: {"required": "Write what goes back; carriers require an answer."}
            for name in ("opt_out_reply", "opt_in_reply", "help_reply")
        }
        labels = {
            "opt_out_reply": "Answer to STOP",
            "opt_in_reply": "Answer to START",
            "help_reply": "Answer to HELP",
            "notify_emails": "Email these addresses",
        }

    def clean_notify_emails(self) -> str:
        addresses = [a.strip() for a in self.cleaned_data["notify_emails"].split(",") if a.strip()]
        validator = forms.EmailField()
        for address in addresses:
            try:
                validator.clean(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address!r} is not an email address.") from None
        return ", ".join(addresses)

    def clean(self) -> dict:
        data = super().clean()
        for name in ("opt_out_reply", "opt_in_reply", "help_reply"):
            text = " ".join((data.get(name) or "").split())
            if name in data and not text:
                self.add_error(name, "Write what goes back; carriers require an answer.")
            data[name] = text
        return data


@require_http_methods(["GET", "POST"])
@login_required
def team_compliance(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_admin(request.user, team_id)
    form = TeamComplianceForm(request.POST or None, instance=Team.objects.get(pk=team.pk))
    if request.method == "POST" and form.is_valid():
        settings_actions.save_team_compliance(request.user, team, form.cleaned_data)
        messages.success(request, "Saved.")
        return redirect("team_compliance", team_id=team.pk)
    context = {"team": team, "form": form}
    return render(request, "compliance/team.html", context, status=422 if form.errors else 200)
