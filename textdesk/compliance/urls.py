"""Consent by hand and a team's compliance settings."""

from django.urls import path

from textdesk.compliance import views

TEAM = "teams/<int:team_id>/"

urlpatterns = [
    path(TEAM + "compliance/", views.team_compliance, name="team_compliance"),
    path(TEAM + "contacts/<int:contact_id>/consent/", views.change_consent, name="contact_consent"),
]
