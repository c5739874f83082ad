"""Consent by hand and a team's compliance settings."""

from django.urls import path  # noqa: F401

TEAM = "teams/<int:team_id>/"

urlpatterns: list = []
