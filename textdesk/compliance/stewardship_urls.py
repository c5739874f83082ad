"""One contact's data: export everything, erase."""

from django.urls import path

from textdesk.compliance import stewardship_views

TEAM = "teams/<int:team_id>/"

urlpatterns = [
    path(
        TEAM + "contacts/<int:contact_id>/export.json",
        stewardship_views.export_json,
        name="contact_export_json",
    ),
    path(
        TEAM + "contacts/<int:contact_id>/export.csv",
        stewardship_views.export_csv,
        name="contact_export_csv",
    ),
    path(
        TEAM + "contacts/<int:contact_id>/erase/",
        stewardship_views.erase,
        name="contact_erase",
    ),
]
