"""One contact's data: export everything, erase."""

from django.urls import path  # noqa: F401

TEAM = "teams/<int:team_id>/"

urlpatterns: list = []
