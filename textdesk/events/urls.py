"""The event pages of a team."""

from django.urls import path  # noqa: F401

TEAM = "teams/<int:team_id>/"

urlpatterns: list = []
