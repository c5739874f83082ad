"""The audit trail and the opt-out history (team admins)."""

from django.urls import path  # noqa: F401

TEAM = "teams/<int:team_id>/"

urlpatterns: list = []
